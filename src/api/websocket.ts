// The WebSocket at /websocket: JSON-RPC over the same method table, Moonraker's origin check
// (403 for a refused origin), the Host check, a cap on connections, notifications to every client,
// and back-pressure: a client's next request waits until its earlier answers have left, and a
// client that stops reading is dropped. A whole-history list is sent as one message in fragments,
// each produced once the earlier ones have left; nothing else is sent to that client meanwhile.

import type { IncomingMessage } from "node:http";
import { setImmediate as yieldToOthers } from "node:timers/promises";
import type { Duplex } from "node:stream";
import { createRequire } from "node:module";
import type { WebSocket } from "ws";
import type { AccessPolicy } from "./access.js";
import type { HostCheck } from "./host-check.js";
import { RefusalLog, shown } from "./refusal-log.js";
import { MAX_ANSWER_CHARS } from "./json-limits.js";
import { DEFAULT_RPC_LIMITS, dispatchJsonRpc } from "./jsonrpc.js";
import type { StreamedText } from "./streamed-result.js";
import type { MethodTable } from "./methods.js";
import type { Logger } from "../log.js";

// ws is CommonJS: required rather than imported, so Node's ESM loader does not lex its sources
// for named exports at start-up (measured: ~0.17 s less start-up, ~1.4 MB less RSS).
const { WebSocketServer } = createRequire(import.meta.url)("ws") as typeof import("ws");

export const MAX_WS_MESSAGE = 1024 * 1024;
/** Moonraker's default for [server] max_websocket_connections. */
export const DEFAULT_MAX_WS_CONNECTIONS = 50;
/** A client's next request is not answered while more than this is still queued for it. */
const LOW_WATER = 1024 * 1024;
/** Never queue more than one full answer plus this for one client: past it, it is dropped. */
export const MAX_WS_BUFFERED = MAX_ANSWER_CHARS + 4 * 1024 * 1024;
/** Requests read ahead of the one being answered; past this many, or this many characters, the socket is not read. */
const MAX_PENDING = 16;
const MAX_PENDING_CHARS = 2 * 1024 * 1024;
/**
 * What all clients together may have queued: an answer built whole that would take the total past
 * it is refused with an error (at least LOW_WATER is always allowed), so 50 clients that stop
 * reading cannot hold 50 full answers. Streamed lists go out in LOW_WATER steps and are not refused.
 */
export const WS_SEND_BUDGET = 48 * 1024 * 1024;
const BUSY = "Server busy: answers to other clients are still being sent; ask again shortly, or ask for less (limit and start to page)";

export interface WebSocketOptions {
  maxConnections: number;
  /** A client whose queued answers make no progress for this long is dropped. */
  stallMs: number;
  /** Accepts a one-time `?token=` in place of the API key (a browser cannot send headers here). */
  oneshot?: { consume(token: string | null): boolean };
}

export interface WsClient {
  id: number;
  socket: WebSocket;
  ip: string;
  info: Record<string, unknown> | null;
  connectedAt: number;
  /** Characters handed to ws and not yet written to the kernel. */
  queued: number;
  /** Since when the queue has made no progress (0: empty). */
  stalledSince: number;
  onDrain: (() => void) | null;
  /**
   * While a message is being sent in fragments, other messages (notifications) wait here: a
   * WebSocket message's fragments may not be interleaved with another message's (RFC 6455 5.4).
   */
  held: string[] | null;
  /** Characters in `held`. */
  heldChars: number;
}

/** The `token` query parameter of a request URL, or null. */
function queryToken(url: string | undefined): string | null {
  const q = (url ?? "").indexOf("?");
  if (q === -1) return null;
  try {
    return new URLSearchParams(url!.slice(q + 1)).get("token");
  } catch {
    return null;
  }
}

export class WebSocketHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE });
  readonly clients = new Map<number, WsClient>();
  private nextId = 1;
  private readonly watchdog: NodeJS.Timeout;
  private readonly options: WebSocketOptions;
  private readonly refusals: RefusalLog;

  constructor(
    private readonly table: MethodTable,
    private readonly access: AccessPolicy,
    private readonly hosts: HostCheck,
    private readonly logger: Logger,
    options: Partial<WebSocketOptions> = {},
  ) {
    this.refusals = new RefusalLog(logger);
    this.options = { maxConnections: DEFAULT_MAX_WS_CONNECTIONS, stallMs: 30_000, ...options };
    this.watchdog = setInterval(() => this.dropStalled(), Math.min(5000, this.options.stallMs / 2));
    this.watchdog.unref();
  }

  get count(): number {
    return this.clients.size;
  }

  /** Handles an HTTP upgrade; refuses other paths, untrusted clients and refused origins. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refuse = (status: number, text: string) => {
      const body = JSON.stringify({ error: { code: status, message: text, traceback: "" } });
      socket.end(
        `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    };
    const path = (req.url ?? "").split("?")[0];
    if (path !== "/websocket") return refuse(404, "Not Found");
    const ip = req.socket.remoteAddress ?? "";
    if (!this.hosts.allowed(req.headers.host)) {
      this.refusals.warn("websocket.refused_host", { host: shown(req.headers.host), ip });
      return refuse(403, "Forbidden");
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.originOk(origin, req.headers.host)) {
      this.refusals.warn("websocket.refused_origin", { origin: shown(origin), ip });
      return refuse(403, "Forbidden");
    }
    const key = req.headers["x-api-key"];
    if (!this.access.authorized(ip, typeof key === "string" ? key : undefined) && !this.options.oneshot?.consume(queryToken(req.url))) return refuse(401, "Unauthorized");
    if (this.clients.size >= this.options.maxConnections) {
      this.refusals.warn("websocket.refused_full", { ip, clients: this.clients.size });
      return refuse(503, `Maximum number of WebSocket connections (${this.options.maxConnections}) reached`);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.attach(ws, ip));
  }

  private originOk(origin: string, host: string | undefined): boolean {
    return this.access.pageMayWrite(origin, host);
  }

  private attach(ws: WebSocket, ip: string): void {
    const client: WsClient = { id: this.nextId++, socket: ws, ip, info: null, connectedAt: Date.now() / 1000, queued: 0, stalledSince: 0, onDrain: null, held: null, heldChars: 0 };
    this.clients.set(client.id, client);
    this.refusals.routine("info", "websocket.open", { id: client.id, ip, clients: this.clients.size });
    // Messages of one client are answered in order, each once the answers before it have left.
    let chain: Promise<void> = Promise.resolve();
    let pending = 0;
    let pendingChars = 0;
    ws.on("message", (data, isBinary) => {
      const text = isBinary ? "" : data.toString("utf8");
      pendingChars += text.length;
      if (++pending > MAX_PENDING || pendingChars > MAX_PENDING_CHARS) ws.pause();
      chain = chain
        .then(async () => {
          await this.drained(client);
          if (client.socket.readyState !== client.socket.OPEN) return;
          const ctx = { transport: "websocket" as const, ip, connection: { id: client.id, identify: (info: Record<string, unknown>) => client.info === null && ((client.info = info), true) } };
          const room = this.sendRoom();
          const limits = room >= MAX_ANSWER_CHARS ? DEFAULT_RPC_LIMITS : { ...DEFAULT_RPC_LIMITS, maxAnswerChars: room, tooLargeMessage: BUSY };
          const reply = await dispatchJsonRpc(text, this.table, ctx, limits, true);
          if (typeof reply === "string") this.send(client, reply);
          else if (reply !== null) await this.sendFragmented(client, reply);
        })
        .catch((err) => this.logger.error("websocket.dispatch_failed", { id: client.id, error: (err as Error).message }))
        .finally(() => {
          pendingChars -= text.length;
          if (--pending <= MAX_PENDING / 2 && pendingChars <= MAX_PENDING_CHARS / 2 && ws.isPaused) ws.resume();
        });
    });
    ws.on("close", () => {
      this.clients.delete(client.id);
      client.onDrain?.();
      this.refusals.routine("info", "websocket.close", { id: client.id, clients: this.clients.size });
    });
    ws.on("error", (err) => this.refusals.routine("warn", "websocket.error", { id: client.id, error: err.message }));
    // ws answers every ping itself; a client that pings without reading would pile pongs up.
    ws.on("ping", () => {
      if (ws.bufferedAmount > client.queued + LOW_WATER) this.drop(client, "pinging without reading");
    });
  }

  /** How large an answer built whole may be now, given what all clients have queued. */
  private sendRoom(): number {
    let queued = 0;
    for (const c of this.clients.values()) queued += c.queued + c.heldChars;
    return Math.max(LOW_WATER, WS_SEND_BUDGET - queued);
  }

  /** Resolves once the client's queue is at most LOW_WATER (or it has gone). */
  private drained(client: WsClient): Promise<void> {
    if (client.queued <= LOW_WATER || !this.clients.has(client.id)) return Promise.resolve();
    return new Promise((resolve) => {
      client.onDrain = () => {
        client.onDrain = null;
        resolve();
      };
    });
  }

  private send(client: WsClient, text: string): void {
    if (client.socket.readyState !== client.socket.OPEN) return;
    if (client.queued + client.heldChars + text.length > MAX_WS_BUFFERED) return this.drop(client, "send buffer full");
    if (client.held) {
      client.held.push(text);
      client.heldChars += text.length;
      return;
    }
    this.write(client, text, true);
  }

  private write(client: WsClient, text: string, fin: boolean): void {
    if (client.queued === 0) client.stalledSince = Date.now();
    client.queued += text.length;
    client.socket.send(text, { fin }, () => {
      client.queued -= text.length;
      client.stalledSince = client.queued > 0 ? Date.now() : 0;
      if (client.queued <= LOW_WATER) client.onDrain?.();
    });
  }

  /**
   * Sends one message of any size as fragments, each made once the client's queue is down to
   * LOW_WATER (so memory holds about LOW_WATER per client, whatever the size); other clients are
   * served in between. A client that stops reading is dropped by the watchdog as for any answer.
   */
  private async sendFragmented(client: WsClient, text: StreamedText): Promise<void> {
    const pieces = text[Symbol.iterator]();
    client.held = [];
    try {
      let piece = pieces.next();
      while (!piece.done) {
        const next = pieces.next();
        if (client.socket.readyState !== client.socket.OPEN) return;
        this.write(client, piece.value, next.done === true);
        piece = next;
        await this.drained(client);
        await yieldToOthers();
      }
    } finally {
      pieces.return?.();
      const held = client.held;
      client.held = null;
      client.heldChars = 0;
      for (const t of held) this.send(client, t);
    }
  }

  private drop(client: WsClient, why: string): void {
    this.logger.warn("websocket.slow_client_dropped", { id: client.id, ip: client.ip, queued: client.queued, why });
    client.socket.terminate();
  }

  /** Drops clients that have not taken any of what is queued for them for stallMs. */
  private dropStalled(): void {
    const now = Date.now();
    for (const client of this.clients.values()) {
      if (client.queued > 0 && client.stalledSince > 0 && now - client.stalledSince > this.options.stallMs) {
        this.drop(client, `not reading for ${Math.round((now - client.stalledSince) / 1000)} s`);
      }
    }
  }

  /** Sends a JSON-RPC notification to every connected client. */
  notify(method: string, params: unknown[]): void {
    if (this.clients.size === 0) return;
    const text = JSON.stringify({ jsonrpc: "2.0", method, params });
    for (const client of this.clients.values()) this.send(client, text);
  }

  /** Sends a JSON-RPC notification to one client (subscriptions); false once it is gone. */
  notifyClient(id: number, method: string, params: unknown[]): boolean {
    const client = this.clients.get(id);
    if (!client || client.socket.readyState !== client.socket.OPEN) return false;
    this.send(client, JSON.stringify({ jsonrpc: "2.0", method, params }));
    return true;
  }

  close(): void {
    clearInterval(this.watchdog);
    for (const client of this.clients.values()) client.socket.terminate();
    this.wss.close();
  }
}
