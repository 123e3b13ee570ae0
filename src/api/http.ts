// The HTTP side: routes every method-table entry at its path and verb, plus POST /server/jsonrpc,
// with Moonraker's envelope ({"result"} / {"error"}), the Host check, origin checks on writes,
// CORS, auth, body caps and JSON 404/405s. createApp() never opens a socket (tests may call
// app.request() in-process).

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { Hono, type Context } from "hono";
import { getConnInfo } from "@hono/node-server/conninfo";
import { Args, parseQueryArgs, type ArgValue } from "./args.js";
import { ApiError, badRequest, toApiError } from "./errors.js";
import { DEFAULT_RPC_LIMITS, dispatchJsonRpc } from "./jsonrpc.js";
import { StreamedList, StreamedText, streamBody } from "./streamed-result.js";
import type { AccessPolicy } from "./access.js";
import type { HostCheck } from "./host-check.js";
import type { MethodTable } from "./methods.js";
import { RefusalLog, shown } from "./refusal-log.js";
import { discardBody, parseJsonObject, readBodyText } from "./request-body.js";
import { stackOf, type Logger } from "../log.js";

export { MAX_BODY_BYTES } from "./request-body.js";
const JSON_TYPE = "application/json; charset=UTF-8";
const WRITE_VERBS = new Set(["POST", "PUT", "DELETE", "PATCH"]);

export interface HttpDeps {
  table: MethodTable;
  access: AccessPolicy;
  hosts: HostCheck;
  logger: Logger;
  /** Accepts a one-time `?token=` in place of the API key (access.oneshot_token). */
  oneshot?: { consume(token: string | null): boolean };
  /** Extra raw routes (e.g. file downloads) mounted before the JSON 404. */
  mount?: (app: Hono) => void;
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": JSON_TYPE, ...headers } });
}

export function errorResponse(err: ApiError): Response {
  return jsonResponse(err.status, err.toHttpBody());
}

/** A connection whose answer makes no progress for this long (the client stopped reading) is closed. */
const STALL_MS = 60_000;
const STALL_STEP_MS = 5_000;

/**
 * Closes `socket` if nothing is read from it or written to it for STALL_MS before `done`. The
 * socket's own idle timeout cannot do this: node clears it between the answers of a keep-alive
 * connection.
 */
function watchProgress(socket: Socket, done: Promise<void>, onStall: () => void): void {
  let last = socket.bytesWritten + socket.bytesRead;
  let idle = 0;
  const timer = setInterval(() => {
    const now = socket.bytesWritten + socket.bytesRead;
    if (now !== last) {
      last = now;
      idle = 0;
      return;
    }
    idle += STALL_STEP_MS;
    if (idle >= STALL_MS) {
      clearInterval(timer);
      onStall();
      socket.destroy();
    }
  }, STALL_STEP_MS);
  timer.unref();
  void done.then(() => clearInterval(timer));
}

function clientIp(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "";
  } catch {
    return "";
  }
}

async function readJsonBody(c: Context): Promise<Record<string, ArgValue>> {
  // No body announced (a GET): nothing to read. Asking for `c.req.raw.body` would make the
  // adapter build a full WHATWG Request (headers, AbortSignal) — most of a small GET's CPU.
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming && incoming.headers["content-length"] === undefined && incoming.headers["transfer-encoding"] === undefined) return {};
  // Read whatever the type, so the 1 MiB cap holds for every body sent to the API.
  const text = await readBodyText(c.req.raw.body, c.req.header("content-length"));
  const type = c.req.header("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/json")) return {};
  if (text.trim() === "") return {};
  return parseJsonObject(text);
}

/** The path must decode (no malformed %-escapes, no NUL) before any route looks at it. */
function checkPath(rawUrl: string): void {
  const start = rawUrl.indexOf("/", rawUrl.indexOf("//") + 2);
  const end = rawUrl.search(/[?#]/);
  const path = rawUrl.slice(start, end === -1 ? undefined : end);
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw badRequest("Malformed percent-encoding in the request path");
  }
  if (decoded.includes("\0")) throw badRequest("NUL byte in the request path");
}

export function createApp(deps: HttpDeps): Hono {
  const { table, access, hosts, logger } = deps;
  const refusals = new RefusalLog(logger);
  const app = new Hono();

  app.onError((err, c) => {
    const e = err instanceof ApiError ? err : toApiError(err);
    // A fault of printlog is logged with where it happened; a refusal (503 while the printer is
    // away, 4xx) is the client's answer, not news for the log.
    if (e.code === "internal") logger.error("http.error", { path: c.req.path, error: (err as Error)?.message ?? String(err), stack: stackOf(err) });
    // A body cut off at the cap cannot be reused for another request on this connection.
    return e.code === "payload_too_large" ? jsonResponse(e.status, e.toHttpBody(), { Connection: "close" }) : errorResponse(e);
  });

  // One request at a time per connection: node hands pipelined requests over all at once, so
  // one socket could otherwise run any number of heavy requests together, each answer waiting in
  // memory for the ones before it. The next request waits until the answer before it has been
  // sent (handed to the kernel): a client that pipelines and never reads holds one answer.
  const connections = new WeakMap<object, { last: Promise<void>; unsent: Set<() => void> }>();
  app.use("*", async (c, next) => {
    const env = c.env as { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;
    const socket = env?.incoming?.socket;
    const out = env?.outgoing;
    if (!socket || !out || socket.destroyed) return next();
    let conn = connections.get(socket);
    if (!conn) {
      const fresh = { last: Promise.resolve(), unsent: new Set<() => void>() };
      // A closed connection sends nothing more: everything queued on it goes ahead (and ends).
      socket.once("close", () => {
        for (const release of [...fresh.unsent]) release();
      });
      connections.set(socket, (conn = fresh));
    }
    const { unsent } = conn;
    const before = conn.last;
    let release!: () => void;
    const sent = new Promise<void>((resolve) => {
      release = () => {
        unsent.delete(release);
        resolve();
      };
    });
    conn.last = sent;
    unsent.add(release);
    out.once("finish", release);
    out.once("close", release);
    await before;
    watchProgress(socket, sent, () => refusals.warn("http.stalled_client_dropped", { ip: clientIp(c), seconds: STALL_MS / 1000 }));
    await next();
  });

  // DNS rebinding: only this machine's own names (and configured ones) may be the Host.
  app.use("*", async (c, next) => {
    // The raw header: the adapter drops an empty Host, which must not pass as "no Host".
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const host = incoming ? incoming.headers.host : c.req.header("host");
    if (!hosts.allowed(host)) {
      refusals.warn("http.refused_host", { host: shown(host), ip: clientIp(c) });
      return errorResponse(new ApiError("forbidden", `Host '${shown(host)}' is not a name of this machine (see [authorization] allowed_hosts)`));
    }
    checkPath(c.req.url);
    await next();
  });

  // CORS: answer preflights and decorate responses for allowed origins only.
  app.use("*", async (c, next) => {
    const origin = c.req.header("origin");
    const allowed = origin !== undefined && access.originAllowed(origin);
    if (c.req.method === "OPTIONS") {
      if (!allowed) return new Response(null, { status: 403 });
      return new Response(null, {
        status: 204,
        headers: {
          "Access-Control-Allow-Origin": origin,
          "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
          "Access-Control-Allow-Headers":
            c.req.header("access-control-request-headers") ?? "Origin, Accept, Content-Type, X-Requested-With, X-CRSF-Token, Authorization, X-Access-Token, X-Api-Key",
          "Access-Control-Allow-Credentials": "true",
          "Access-Control-Max-Age": "600",
          // Chrome's Private Network Access preflight, answered for allowed origins as Moonraker does.
          ...(c.req.header("access-control-request-private-network") === "true" ? { "Access-Control-Allow-Private-Network": "true" } : {}),
          Vary: "Origin",
        },
      });
    }
    await next();
    if (allowed) {
      c.res.headers.set("Access-Control-Allow-Origin", origin);
      c.res.headers.set("Access-Control-Allow-Credentials", "true");
      c.res.headers.append("Vary", "Origin");
    }
  });

  // A web page of a foreign origin may not change anything, whatever the client's address: a
  // simple POST or a form needs no preflight, so refusing the preflight alone is not enough.
  app.use("*", async (c, next) => {
    if (WRITE_VERBS.has(c.req.method) && !access.pageMayWrite(c.req.header("origin"), c.req.header("host"))) {
      refusals.warn("http.refused_origin", { origin: shown(c.req.header("origin")), method: c.req.method, path: shown(c.req.path), ip: clientIp(c) });
      await discardBody(c.req.raw.body);
      return errorResponse(new ApiError("forbidden", "Forbidden: this origin may not change data here (see [authorization] cors_domains)"));
    }
    await next();
  });

  // Auth: trusted networks or the API key; everyone else gets 401.
  app.use("*", async (c, next) => {
    if (!access.authorized(clientIp(c), c.req.header("x-api-key")) && !deps.oneshot?.consume(c.req.query("token") ?? null)) {
      return errorResponse(new ApiError("unauthorized", "Unauthorized"));
    }
    await next();
  });

  // Bodies are capped where they are read (readBodyText), announced or chunked; routes mounted
  // by others (file uploads) set their own limits.

  app.post("/server/jsonrpc", async (c) => {
    const type = c.req.header("content-type") ?? "";
    if (!type.toLowerCase().startsWith("application/json")) {
      throw badRequest("JSON-RPC requests need Content-Type: application/json");
    }
    const body = await readBodyText(c.req.raw.body, c.req.header("content-length"));
    const reply = await dispatchJsonRpc(body, table, { transport: "jsonrpc-http", ip: clientIp(c) }, DEFAULT_RPC_LIMITS, true);
    // A whole-history list is sent as a chunked body, produced as the client reads it.
    if (reply instanceof StreamedText) return new Response(streamBody(reply), { status: 200, headers: { "Content-Type": JSON_TYPE } });
    return new Response(reply ?? "", { status: 200, headers: { "Content-Type": JSON_TYPE } });
  });

  deps.mount?.(app);

  app.all("*", async (c) => {
    const verbs = table.path(c.req.path);
    if (!verbs) throw new ApiError("not_found", "Not Found");
    const method = verbs.get(c.req.method as "GET" | "POST" | "DELETE");
    if (!method) throw new ApiError("method_not_allowed", "Method Not Allowed");
    const url = new URL(c.req.url);
    const args = { ...parseQueryArgs(url.search), ...(await readJsonBody(c)) };
    const result = await method.handler(new Args(args), { transport: "http", ip: clientIp(c) });
    // Not capped like JSON-RPC answers: a plain GET of the whole history (limit=0) is streamed at
    // any size, one request at a time per connection.
    if (result instanceof StreamedList) return result.httpResponse({ "Content-Type": JSON_TYPE });
    return jsonResponse(200, { result });
  });

  return app;
}
