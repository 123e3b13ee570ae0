// Reading a request body with a hard cap, whether it announces its length or arrives chunked:
// past the cap the client gets 413 (the rest is read and discarded up to DRAIN_LIMIT so it sees
// the answer rather than a reset; beyond that, or when the rest stops coming for 2 s, the answer
// goes out and the connection is closed).

import { ApiError, badRequest } from "./errors.js";
import { JsonLimitError, parseJsonLimited } from "./json-limits.js";

export const MAX_BODY_BYTES = 1024 * 1024;
const DRAIN_LIMIT = 16 * 1024 * 1024;
const DRAIN_IDLE_MS = 2000;

export function tooLargeError(): ApiError {
  return new ApiError("payload_too_large", `Request body larger than ${MAX_BODY_BYTES} bytes`);
}

/** Reads and discards up to `limit` more bytes; true when the body ended within it. A body that
 *  stops coming for `DRAIN_IDLE_MS` (announced, never sent) is given up: the refusal goes out. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, limit: number): Promise<boolean> {
  let seen = 0;
  let timer: NodeJS.Timeout | undefined;
  const idle = () => new Promise<"idle">((resolve) => (timer = setTimeout(() => resolve("idle"), DRAIN_IDLE_MS)));
  try {
    for (;;) {
      const step = await Promise.race([reader.read(), idle()]);
      clearTimeout(timer);
      if (step === "idle" || seen + (step.value?.byteLength ?? 0) > limit) {
        await reader.cancel().catch(() => undefined);
        return false;
      }
      if (step.done) return true;
      seen += step.value.byteLength;
    }
  } catch {
    return false; // the client went away
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a Content-Length header alone already exceeds the cap. */
export function announcedTooLarge(contentLength: string | undefined, max = MAX_BODY_BYTES): boolean {
  if (contentLength === undefined) return false;
  const n = Number(contentLength);
  return !Number.isFinite(n) || n > max;
}

/** Discards a whole body (for a refusal) within the drain limit. */
export async function discardBody(body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (body && !body.locked) await drain(body.getReader(), DRAIN_LIMIT);
}

/** The body as text, at most `max` bytes; throws 413 past it (at once when its length says so). */
export async function readBodyText(body: ReadableStream<Uint8Array> | null, contentLength: string | undefined, max = MAX_BODY_BYTES): Promise<string> {
  if (!body) return "";
  if (announcedTooLarge(contentLength, max)) {
    await discardBody(body);
    throw tooLargeError();
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let step: Awaited<ReturnType<typeof reader.read>>;
    try {
      step = await reader.read();
    } catch {
      throw badRequest("The request body was cut off");
    }
    if (step.done) break;
    total += step.value.byteLength;
    if (total > max) {
      chunks.length = 0;
      await drain(reader, DRAIN_LIMIT);
      throw tooLargeError();
    }
    chunks.push(step.value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** A JSON body: parsed, depth-checked, and required to be an object. */
export function parseJsonObject(text: string): Record<string, unknown> {
  let body: unknown;
  try {
    body = parseJsonLimited(text);
  } catch (e) {
    if (e instanceof JsonLimitError) throw badRequest(`The JSON request body is ${e.message.replace(/^JSON /, "")}`);
    throw badRequest("Error parsing the JSON request body");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw badRequest("The JSON request body must be an object");
  }
  return body as Record<string, unknown>;
}
