// The HTTP side: routes every method-table entry at its path and verb, plus POST /server/jsonrpc,
// with Moonraker's envelope ({"result"} / {"error"}), auth, CORS, body caps and JSON 404/405s.
// createApp() never opens a socket, so tests can also call app.request() in-process.

import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { getConnInfo } from "@hono/node-server/conninfo";
import { Args, parseQueryArgs, type ArgValue } from "./args.js";
import { ApiError, badRequest, toApiError } from "./errors.js";
import { dispatchJsonRpc } from "./jsonrpc.js";
import { StreamedList } from "./streamed-result.js";
import type { AccessPolicy } from "./access.js";
import type { MethodTable } from "./methods.js";
import type { Logger } from "../log.js";

export const MAX_BODY_BYTES = 1024 * 1024;
/** How much of an oversized body is read and discarded so the client sees the 413 instead of a
 *  connection reset; past this the connection is simply dropped. */
const DRAIN_LIMIT = 16 * 1024 * 1024;

async function drain(body: ReadableStream<Uint8Array> | null, limit: number): Promise<void> {
  if (!body) return;
  const reader = body.getReader();
  let seen = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      seen += value.byteLength;
      if (seen > limit) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // the client went away
  }
}
const JSON_TYPE = "application/json; charset=UTF-8";

export interface HttpDeps {
  table: MethodTable;
  access: AccessPolicy;
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

function clientIp(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "";
  } catch {
    return "";
  }
}

async function readJsonBody(c: Context): Promise<Record<string, ArgValue>> {
  const type = c.req.header("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/json")) return {};
  const text = await c.req.text();
  if (text.trim() === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest("Error parsing the JSON request body");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw badRequest("The JSON request body must be an object");
  }
  return body as Record<string, ArgValue>;
}

export function createApp(deps: HttpDeps): Hono {
  const { table, access, logger } = deps;
  const app = new Hono();

  app.onError((err, c) => {
    const e = err instanceof ApiError ? err : toApiError(err);
    if (e.status >= 500) logger.error("http.error", { path: c.req.path, error: (err as Error).message });
    return errorResponse(e);
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

  // Auth: trusted networks or the API key; everyone else gets 401.
  app.use("*", async (c, next) => {
    if (!access.authorized(clientIp(c), c.req.header("x-api-key")) && !deps.oneshot?.consume(c.req.query("token") ?? null)) {
      return errorResponse(new ApiError("unauthorized", "Unauthorized"));
    }
    await next();
  });

  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: async (c) => {
        await drain(c.req.raw.body, DRAIN_LIMIT);
        return errorResponse(new ApiError("payload_too_large", `Request body larger than ${MAX_BODY_BYTES} bytes`));
      },
    }),
  );

  app.post("/server/jsonrpc", async (c) => {
    const type = c.req.header("content-type") ?? "";
    if (!type.toLowerCase().startsWith("application/json")) {
      throw badRequest("JSON-RPC requests need Content-Type: application/json");
    }
    const reply = await dispatchJsonRpc(await c.req.text(), table, { transport: "jsonrpc-http", ip: clientIp(c) });
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
    if (result instanceof StreamedList) return result.httpResponse({ "Content-Type": JSON_TYPE });
    return jsonResponse(200, { result });
  });

  return app;
}
