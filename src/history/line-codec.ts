// One checksummed, versioned JSON line: `{"v":2,"crc":"<crc32 hex>",<fields>}`. The CRC covers
// every byte after its own field, so a changed byte anywhere in the record is detected; the
// line stays plain JSON for `jq` and for people reading the file.

import { crc32 } from "node:zlib";

export const LINE_VERSION = 2;
const PREFIX = `{"v":${LINE_VERSION},"crc":"`;
const BODY_AT = PREFIX.length + 8 + 2; // after `xxxxxxxx",`

export function crcHex(text: string): string {
  return crc32(text).toString(16).padStart(8, "0");
}

/** Encodes `fields` (an object serialised without its braces) as one checksummed line, no newline. */
export function encodeLine(fields: Record<string, unknown>): string {
  const body = JSON.stringify(fields).slice(1); // `"a":1,...}`
  return `${PREFIX}${crcHex(body)}",${body}`;
}

export type DecodedLine =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; reason: "json" | "version" | "checksum"; version?: unknown };

/** Decodes a line written by `encodeLine`; reports why it is not one (torn, other version, rot). */
export function decodeLine(line: string): DecodedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, reason: "json" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, reason: "json" };
  const v = (value as Record<string, unknown>)["v"];
  if (v !== LINE_VERSION || !line.startsWith(PREFIX) || line[BODY_AT - 2] !== '"') return { ok: false, reason: "version", version: v };
  if (crcHex(line.slice(BODY_AT)) !== line.slice(PREFIX.length, PREFIX.length + 8)) return { ok: false, reason: "checksum" };
  return { ok: true, value: value as Record<string, unknown> };
}
