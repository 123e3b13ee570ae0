// Stored values as plain data: reads and writes go through own properties only, so a name like
// `__proto__`, `constructor` or `toString` is a key like any other, never Object.prototype.

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function ownHas(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

export function ownGet(o: Record<string, unknown>, k: string): unknown {
  return ownHas(o, k) ? o[k] : undefined;
}

/** Sets an own, enumerable property (an assignment to `__proto__` would change the prototype). */
export function ownSet(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** A deep copy with null-prototype objects, so later reads cannot reach Object.prototype. */
export function plainCopy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plainCopy);
  if (!isObject(v)) return v;
  const out = Object.create(null) as Record<string, unknown>;
  for (const k of Object.keys(v)) ownSet(out, k, plainCopy(v[k]));
  return out;
}

/** Nesting depth of a JSON value (a scalar is 0), counting no further than `cap`. */
export function valueDepth(v: unknown, cap: number): number {
  if (typeof v !== "object" || v === null) return 0;
  if (cap <= 0) return 1;
  let max = 0;
  for (const child of Array.isArray(v) ? v : Object.values(v)) {
    max = Math.max(max, valueDepth(child, cap - 1));
    if (max >= cap) break;
  }
  return max + 1;
}
