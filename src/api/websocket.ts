// The WebSocket at /websocket: JSON-RPC over the same method table, Moonraker's origin check
// (403 for a refused origin), notifications to every client, and bounded per-client buffers.

import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { AccessPolicy } from "./access.js";
import { dispatchJsonRpc } from "./jsonrpc.js";
import type { MethodTable } from "./methods.js";
import type { Logger } from "../log.js";

export const MAX_WS_MESSAGE = 1024 * 1024;
/** A client that stops reading is dropped once this much is queued for it. */
export const MAX_WS_BUFFERED = 8 * 1024 * 1024;

export interface WsClient {
  id: number;
  socket: WebSocket;
  ip: string;
  info: Record<string, unknown> | null;
  connectedAt: number;
}

export class WebSocketHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE });
  readonly clients = new Map<number, WsClient>();
  private nextId = 1;

  constructor(
    private readonly table: MethodTable,
    private readonly access: AccessPolicy,
    private readonly logger: Logger,
  ) {}

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
    const origin = req.headers.origin;
    if (origin !== undefined && !this.originOk(origin, req.headers.host)) {
      this.logger.warn("websocket.refused_origin", { origin, ip });
      return refuse(403, "Forbidden");
    }
    const key = req.headers["x-api-key"];
    if (!this.access.authorized(ip, typeof key === "string" ? key : undefined)) return refuse(401, "Unauthorized");
    this.wss.handleUpgrade(req, socket, head, (ws) => this.attach(ws, ip));
  }

  private originOk(origin: string, host: string | undefined): boolean {
    try {
      if (host && new URL(origin).host.toLowerCase() === host.toLowerCase()) return true;
    } catch {
      return false;
    }
    return this.access.originAllowed(origin);
  }

  private attach(ws: WebSocket, ip: string): void {
    const client: WsClient = { id: this.nextId++, socket: ws, ip, info: null, connectedAt: Date.now() / 1000 };
    this.clients.set(client.id, client);
    this.logger.info("websocket.open", { id: client.id, ip, clients: this.clients.size });
    // Messages of one client are answered in order.
    let chain: Promise<void> = Promise.resolve();
    ws.on("message", (data, isBinary) => {
      const text = isBinary ? "" : data.toString("utf8");
      chain = chain.then(async () => {
        const reply = await dispatchJsonRpc(text, this.table, {
          transport: "websocket",
          ip,
          connection: { id: client.id, identify: (info) => (client.info = info) },
        });
        if (reply !== null) this.send(client, reply);
      }).catch((err) => this.logger.error("websocket.dispatch_failed", { id: client.id, error: (err as Error).message }));
    });
    ws.on("close", () => {
      this.clients.delete(client.id);
      this.logger.info("websocket.close", { id: client.id, clients: this.clients.size });
    });
    ws.on("error", (err) => this.logger.warn("websocket.error", { id: client.id, error: err.message }));
  }

  private send(client: WsClient, text: string): void {
    if (client.socket.readyState !== client.socket.OPEN) return;
    if (client.socket.bufferedAmount > MAX_WS_BUFFERED) {
      this.logger.warn("websocket.slow_client_dropped", { id: client.id, buffered: client.socket.bufferedAmount });
      client.socket.terminate();
      return;
    }
    client.socket.send(text);
  }

  /** Sends a JSON-RPC notification to every connected client. */
  notify(method: string, params: unknown[]): void {
    if (this.clients.size === 0) return;
    const text = JSON.stringify({ jsonrpc: "2.0", method, params });
    for (const client of this.clients.values()) this.send(client, text);
  }

  close(): void {
    for (const client of this.clients.values()) client.socket.terminate();
    this.wss.close();
  }
}
