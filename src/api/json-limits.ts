// Limits on what a client's JSON may be: nesting depth (deep values overflow the stack of every
// recursive walk after JSON.parse: stringify, copies, String()) and the size of one answer.

export const MAX_JSON_DEPTH = 64;
/** One answer (a single reply or a whole batch), in characters of JSON text. */
export const MAX_ANSWER_CHARS = 16 * 1024 * 1024;

/** Whether a parsed JSON value nests deeper than `max` arrays/objects; iterative, stops early. */
export function nestedDeeperThan(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

export class JsonLimitError extends Error {}

/** JSON.parse (V8's is iterative, so safe at any depth) that refuses over-deep values. */
export function parseJsonLimited(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (nestedDeeperThan(value)) throw new JsonLimitError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  return value;
}

const skipped = (v: unknown) => v === undefined || typeof v === "function" || typeof v === "symbol";

/**
 * JSON.stringify that gives up (null) as soon as the text passes `max` characters, so an answer
 * too large to send is never built whole: the outer levels (the reply, its result, a list in it)
 * are written piece by piece, deeper values natively. Same text as JSON.stringify otherwise.
 */
export function stringifyWithin(value: unknown, max: number): string | null {
  const parts: string[] = [];
  let length = 0;
  const add = (s: string): boolean => {
    parts.push(s);
    length += s.length;
    return length <= max;
  };
  const write = (value: unknown, level: number, key: string): boolean => {
    let v = value;
    // As JSON.stringify does: toJSON first (a lazily produced list answers with a lazy array).
    if (level < 3 && typeof v === "object" && v !== null && typeof (v as { toJSON?: unknown }).toJSON === "function") {
      v = (v as { toJSON(key: string): unknown }).toJSON(key);
    }
    const plain =
      level < 3 && typeof v === "object" && v !== null && typeof (v as { toJSON?: unknown }).toJSON !== "function" &&
      (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);
    if (!plain) return add(JSON.stringify(v) ?? "null");
    if (Array.isArray(v)) {
      if (!add("[")) return false;
      for (let i = 0; i < v.length; i++) {
        if (i > 0 && !add(",")) return false;
        const el: unknown = v[i];
        if (!write(skipped(el) ? null : el, level + 1, String(i))) return false;
      }
      return add("]");
    }
    if (!add("{")) return false;
    let first = true;
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      if (skipped(val)) continue;
      if (!add(`${first ? "" : ","}${JSON.stringify(k)}:`)) return false;
      first = false;
      if (!write(val, level + 1, k)) return false;
    }
    return add("}");
  };
  return write(value, 0, "") ? parts.join("") : null;
}
