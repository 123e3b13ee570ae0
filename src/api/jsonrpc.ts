// JSON-RPC 2.0 dispatch shared by POST /server/jsonrpc and the WebSocket, with Moonraker's rules:
// -32700 parse error, -32600 invalid request, -32601 unknown method, -32602 non-object params,
// batches, and no reply to a successful notification (errors reply with id null). One message
// is bounded: at most MAX_BATCH requests, nesting depth, and MAX_ANSWER_CHARS of answer in all —
// except a single request's streamed list (limit=0), which a transport that can send one reply in
// pieces (HTTP, WebSocket) receives as text produced piece by piece, at any size.

import { setImmediate as yieldToOthers } from "node:timers/promises";
import { Args } from "./args.js";
import { ApiError, toApiError } from "./errors.js";
import { MAX_ANSWER_CHARS, MAX_JSON_DEPTH, nestedDeeperThan, stringifyWithin } from "./json-limits.js";
import type { MethodTable, RequestContext } from "./methods.js";
import { StreamedList, type StreamedText } from "./streamed-result.js";

type Id = string | number | null;
export type RpcResponse =
  | { jsonrpc: "2.0"; result: unknown; id: Id }
  | { jsonrpc: "2.0"; error: { code: number; message: string }; id: Id };

/** Web clients never batch; 32 is plenty for scripts and bounds the work of one message. */
export const MAX_BATCH = 32;

export interface RpcLimits {
  maxBatch: number;
  maxAnswerChars: number;
  /** The error's text when an answer is over `maxAnswerChars` (default: "Answer larger than …"). */
  tooLargeMessage?: string;
}
export const DEFAULT_RPC_LIMITS: RpcLimits = { maxBatch: MAX_BATCH, maxAnswerChars: MAX_ANSWER_CHARS };

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
    if (e.code === "internal") table.onInternalError(method.rpc, err);
    return error(e.rpcCode, e.message, id);
  }
}

function tooLarge(limits: RpcLimits): ApiError {
  if (limits.tooLargeMessage) return new ApiError("answer_too_large", limits.tooLargeMessage);
  const max = limits.maxAnswerChars;
  const size = max >= 2 ** 20 ? `${Math.round(max / 2 ** 20)} MiB` : `${max} characters`;
  return new ApiError("answer_too_large", `Answer larger than ${size}: ask for less (limit and start to page, smaller batches)`);
}

/** The reply's JSON text, or an error in its place when it would exceed `budget`. */
function encode(r: RpcResponse, budget: number, limits: RpcLimits): { text: string; fits: boolean } {
  const text = stringifyWithin(r, budget);
  if (text !== null) return { text, fits: true };
  const e = tooLarge(limits);
  return { text: JSON.stringify(error(e.rpcCode, e.message, r.id)), fits: false };
}

/**
 * Handles one JSON-RPC message (single or batch); returns the reply text or null for none. With
 * `streaming`, a single request whose result is a StreamedList gets its reply as StreamedText
 * (not held whole, not capped); batches stay whole and within the answer budget.
 */
export async function dispatchJsonRpc(
  text: string,
  table: MethodTable,
  ctx: RequestContext,
  limits?: RpcLimits,
): Promise<string | null>;
export async function dispatchJsonRpc(
  text: string,
  table: MethodTable,
  ctx: RequestContext,
  limits: RpcLimits,
  streaming: true,
): Promise<string | StreamedText | null>;
export async function dispatchJsonRpc(
  text: string,
  table: MethodTable,
  ctx: RequestContext,
  limits: RpcLimits = DEFAULT_RPC_LIMITS,
  streaming = false,
): Promise<string | StreamedText | null> {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return JSON.stringify(error(-32700, "Parse error", null));
  }
  if (nestedDeeperThan(obj, MAX_JSON_DEPTH + 2)) {
    const id = typeof obj === "object" && obj !== null && !Array.isArray(obj) ? validId((obj as Record<string, unknown>)["id"]) : null;
    return JSON.stringify(error(-32600, `Invalid Request: JSON nested deeper than ${MAX_JSON_DEPTH} levels`, id));
  }
  if (Array.isArray(obj)) {
    if (obj.length === 0) return JSON.stringify(error(-32600, "Invalid Request", null));
    if (obj.length > limits.maxBatch) return JSON.stringify(error(-32600, `Invalid Request: batch larger than ${limits.maxBatch}`, null));
    // Each reply is encoded as soon as it is made, so a batch never holds more than the budget;
    // once the budget is spent, the remaining requests are not run and say so.
    const parts: string[] = [];
    let used = 2;
    let spent = false;
    for (const item of obj) {
      if (spent) {
        const e = tooLarge(limits);
        const id = typeof item === "object" && item !== null ? validId((item as Record<string, unknown>)["id"]) : null;
        parts.push(JSON.stringify(error(e.rpcCode, `${e.message}; not run`, id)));
        continue;
      }
      const r = await processObject(item, table, ctx);
      if (r) {
        const { text: part, fits } = encode(r, limits.maxAnswerChars - used - 1, limits);
        spent = !fits;
        used += part.length + 1;
        parts.push(part);
      }
      // Let other clients' requests in between the items of a long batch.
      await yieldToOthers();
    }
    return parts.length > 0 ? `[${parts.join(",")}]` : null;
  }
  const r = await processObject(obj, table, ctx);
  if (r === null) return null;
  if (streaming && "result" in r && r.result instanceof StreamedList) return r.result.rpcReply(r.id);
  return encode(r, limits.maxAnswerChars, limits).text;
}
