// Request arguments with Moonraker's conversion rules (WebRequest.get_int/get_float/...): values
// may arrive as query strings, JSON body values or JSON-RPC params, and convert the same way.

import { badRequest } from "./errors.js";
import { JsonLimitError, nestedDeeperThan, parseJsonLimited } from "./json-limits.js";

export type ArgValue = unknown;
const MISSING = Symbol("missing");

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function pyTypeName(kind: "int" | "float" | "str" | "bool"): string {
  return `<class '${kind}'>`;
}

/** The value for an error message: short, and safe for any value (never walks a deep one). */
function describe(v: unknown): string {
  if (typeof v === "string") return v.length > 200 ? `${v.slice(0, 200)}…` : v;
  if (typeof v !== "object" || v === null) return String(v);
  if (nestedDeeperThan(v, 8)) return Array.isArray(v) ? "a deeply nested array" : "a deeply nested object";
  const text = JSON.stringify(v);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

export function toInt(v: unknown): number | null {
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number") return Number.isFinite(v) ? Math.trunc(v) : null;
  if (typeof v === "string" && INT_RE.test(v.trim())) {
    const n = Number.parseInt(v.trim(), 10);
    return Number.isSafeInteger(n) ? n : null;
  }
  return null;
}

/** Whole numbers only: a JSON integer or an integer string ("7"), never 1.5, true or "1e3". */
export function toStrictInt(v: unknown): number | null {
  if (typeof v === "number") return Number.isSafeInteger(v) ? v : null;
  if (typeof v === "string") return toInt(v);
  return null;
}

export function toFloat(v: unknown): number | null {
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "string" && FLOAT_RE.test(v.trim())) {
    const n = Number(v.trim());
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

export function toBool(v: unknown): boolean | null {
  if (typeof v === "boolean") return v;
  if (typeof v === "string") {
    const s = v.toLowerCase();
    if (s === "true") return true;
    if (s === "false") return false;
  }
  return null;
}

export class Args {
  constructor(readonly raw: Record<string, ArgValue>) {}

  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.raw, key);
  }

  private get<T>(key: string, kind: "int" | "float" | "str" | "bool", conv: (v: unknown) => T | null, def: T | typeof MISSING): T {
    if (!this.has(key)) {
      if (def === MISSING) throw badRequest(`No data for argument: ${key}`);
      return def;
    }
    const v = this.raw[key];
    const out = conv(v);
    if (out === null) {
      throw badRequest(`Unable to convert argument [${key}] to ${pyTypeName(kind)}: value received: ${describe(v)}`);
    }
    return out;
  }

  str(key: string, def: string | typeof MISSING = MISSING): string {
    return this.get(key, "str", (v) => (typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : null), def);
  }
  int(key: string, def: number | typeof MISSING = MISSING): number {
    return this.get(key, "int", toInt, def);
  }
  /** Like int(), but refuses fractions and booleans instead of truncating them. */
  strictInt(key: string, def: number | typeof MISSING = MISSING): number {
    return this.get(key, "int", toStrictInt, def);
  }
  float(key: string, def: number | typeof MISSING = MISSING): number {
    return this.get(key, "float", toFloat, def);
  }
  bool(key: string, def: boolean | typeof MISSING = MISSING): boolean {
    return this.get(key, "bool", toBool, def);
  }
  /** The raw value, any JSON type; required unless a default is given. */
  any(key: string, def: unknown = MISSING): unknown {
    if (!this.has(key)) {
      if (def === MISSING) throw badRequest(`No data for argument: ${key}`);
      return def;
    }
    return this.raw[key];
  }
}

/** Converts a query value by its key's type hint (`limit:int=5`), as Moonraker does. */
function convertHinted(key: string, hint: string, value: string): unknown {
  switch (hint) {
    case "int": {
      const n = toInt(value);
      if (n === null) throw badRequest(`Unable to convert argument [${key}] to int: value received: ${value}`);
      return n;
    }
    case "float": {
      const n = toFloat(value);
      if (n === null) throw badRequest(`Unable to convert argument [${key}] to float: value received: ${value}`);
      return n;
    }
    case "bool": {
      const b = toBool(value);
      if (b === null) throw badRequest(`Unable to convert argument [${key}] to bool: value received: ${value}`);
      return b;
    }
    case "json":
      try {
        return parseJsonLimited(value);
      } catch (e) {
        if (e instanceof JsonLimitError) throw badRequest(`Argument [${key}]: ${e.message}`);
        throw badRequest(`Unable to convert argument [${key}] to json: value received: ${value.slice(0, 200)}`);
      }
    case "str":
      return value;
    default:
      throw badRequest(`Unknown type hint '${hint}' for argument [${key}]`);
  }
}

export const MAX_QUERY_ARGS = 64;

/** Parses a query string into arguments, honouring type hints; the last repeat of a key wins. */
export function parseQueryArgs(search: string): Record<string, ArgValue> {
  const out: Record<string, ArgValue> = Object.create(null);
  const params = new URLSearchParams(search);
  let n = 0;
  for (const [rawKey, value] of params) {
    if (++n > MAX_QUERY_ARGS) throw badRequest(`Too many query arguments (at most ${MAX_QUERY_ARGS})`);
    const colon = rawKey.indexOf(":");
    if (colon > 0) {
      const key = rawKey.slice(0, colon);
      out[key] = convertHinted(key, rawKey.slice(colon + 1), value);
    } else {
      out[rawKey] = value;
    }
  }
  return out;
}
