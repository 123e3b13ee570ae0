// JSON-RPC 2.0 dispatch shared by POST /server/jsonrpc and the WebSocket, with Moonraker's rules:
// -32700 parse error, -32600 invalid request, -32601 unknown method, -32602 non-object params,
// batches, and no reply to a successful notification (errors reply with id null).

import { Args } from "./args.js";
import { toApiError } from "./errors.js";
import type { MethodTable, RequestContext } from "./methods.js";

type Id = string | number | null;
export type RpcResponse =
  | { jsonrpc: "2.0"; result: unknown; id: Id }
  | { jsonrpc: "2.0"; error: { code: number; message: string }; id: Id };

export const MAX_BATCH = 100;

function error(code: number, message: string, id: Id): RpcResponse {
  return { jsonrpc: "2.0", error: { code, message }, id };
}

function validId(v: unknown): Id {
  return typeof v === "string" || (typeof v === "number" && Number.isFinite(v)) ? v : null;
}

async function processObject(obj: unknown, table: MethodTable, ctx: RequestContext): Promise<RpcResponse | null> {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return error(-32600, "Invalid Request", null);
  const o = obj as Record<string, unknown>;
  const hasId = Object.prototype.hasOwnProperty.call(o, "id") && o["id"] !== null;
  const id = validId(o["id"]);
  if (o["jsonrpc"] !== "2.0") return error(-32600, "Invalid Request", id);
  if (!("method" in o)) return null; // a response from the client: nothing to answer
  if (typeof o["method"] !== "string") return error(-32600, "Invalid Request", id);
  const method = table.rpc(o["method"]);
  if (!method) return error(-32601, "Method not found", id);
  let params: Record<string, unknown> = {};
  if ("params" in o && o["params"] !== undefined) {
    const p = o["params"];
    if (typeof p !== "object" || p === null || Array.isArray(p)) return error(-32602, "Invalid params:", id);
    params = p as Record<string, unknown>;
  }
  try {
    const result = await method.handler(new Args(params), ctx);
    return hasId ? { jsonrpc: "2.0", result, id } : null;
  } catch (err) {
    const e = toApiError(err);
    return error(e.rpcCode, e.message, id);
  }
}

/** Handles one JSON-RPC message (single or batch); returns the reply text or null for none. */
export async function dispatchJsonRpc(text: string, table: MethodTable, ctx: RequestContext): Promise<string | null> {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return JSON.stringify(error(-32700, "Parse error", null));
  }
  if (Array.isArray(obj)) {
    if (obj.length === 0) return JSON.stringify(error(-32600, "Invalid Request", null));
    if (obj.length > MAX_BATCH) return JSON.stringify(error(-32600, `Invalid Request: batch larger than ${MAX_BATCH}`, null));
    const replies: RpcResponse[] = [];
    for (const item of obj) {
      const r = await processObject(item, table, ctx);
      if (r) replies.push(r);
    }
    return replies.length > 0 ? JSON.stringify(replies) : null;
  }
  const r = await processObject(obj, table, ctx);
  return r ? JSON.stringify(r) : null;
}
