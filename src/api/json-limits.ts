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
