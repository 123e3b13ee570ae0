// Moonraker's key-value database (server.database.*), where Mainsail keeps job notes
// (`history_notes`) and both clients keep their settings. The history's engine (checksummed
// journal + lowdb document): a note saved is a note kept. Namespaces and keys are plain data:
// `constructor`, `__proto__` and `toString` are ordinary names, never the object machinery.

import { DurableLog, type DurableLogOptions } from "../history/durable-log.js";
import { isObject, ownGet, ownHas, ownSet, plainCopy, valueDepth } from "./plain-data.js";

export type DbState = Map<string, Record<string, unknown>>;
export type DbRecord = { op: "post"; ns: string; key: string[]; value: unknown } | { op: "delete"; ns: string; key: string[] };

export const MAX_NAMESPACES = 200;
export const MAX_KEY_DEPTH = 16;
/** Nesting of a stored value (objects and arrays), counted from the item itself. */
export const MAX_VALUE_DEPTH = 32;
export const MAX_VALUE_BYTES = 512 * 1024;
export const MAX_NAMESPACE_BYTES = 4 * 1024 * 1024;

export class DbError extends Error {
  constructor(
    readonly status: 400 | 404 | 413,
    message: string,
  ) {
    super(message);
  }
}

export function applyDbRecord(state: DbState, rec: DbRecord): void {
  if (rec.op === "post") {
    if (rec.key.length === 0) {
      if (isObject(rec.value)) state.set(rec.ns, plainCopy(rec.value) as Record<string, unknown>);
      return;
    }
    let node = state.get(rec.ns);
    if (!node) state.set(rec.ns, (node = Object.create(null) as Record<string, unknown>));
    for (const part of rec.key.slice(0, -1)) {
      const next = ownGet(node, part);
      if (!isObject(next)) ownSet(node, part, Object.create(null));
      node = ownGet(node, part) as Record<string, unknown>;
    }
    ownSet(node, rec.key[rec.key.length - 1]!, plainCopy(rec.value));
    return;
  }
  const ns = state.get(rec.ns);
  if (!ns) return;
  if (rec.key.length === 0) {
    state.delete(rec.ns);
    return;
  }
  let node: Record<string, unknown> = ns;
  for (const part of rec.key.slice(0, -1)) {
    const next = ownGet(node, part);
    if (!isObject(next)) return;
    node = next;
  }
  delete node[rec.key[rec.key.length - 1]!];
  if (Object.keys(ns).length === 0) state.delete(rec.ns);
}

/** `a.b.c` or ["a","b","c"] -> parts; throws DbError on an unusable key. */
export function parseKey(key: unknown): string[] {
  const parts = typeof key === "string" ? key.split(".") : Array.isArray(key) ? key.map(String) : null;
  if (!parts || parts.length === 0 || parts.some((p) => p.length === 0 || p.length > 256)) {
    throw new DbError(400, `Invalid key: ${JSON.stringify(key)}`);
  }
  if (parts.length > MAX_KEY_DEPTH) throw new DbError(400, `Key nested deeper than ${MAX_KEY_DEPTH} levels`);
  return parts;
}

function validNamespace(ns: string): string {
  if (ns.length === 0 || ns.length > 64 || !/^[\w.-]+$/.test(ns)) throw new DbError(400, `Invalid namespace: ${ns}`);
  return ns;
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null));
}

export class Database {
  private constructor(private readonly log: DurableLog<DbState, DbRecord>) {}

  static async open(dir: string, options: DurableLogOptions): Promise<Database> {
    const log = await DurableLog.open<DbState, DbRecord>(
      dir,
      {
        name: "database",
        // Format 1 and 2 documents hold the same namespace object; JSON.parse makes every name,
        // `__proto__` included, an own property, which Object.entries returns as plain data.
        load: async (doc) => new Map(Object.entries((doc as Record<string, Record<string, unknown>> | null) ?? {}).filter(([, v]) => isObject(v))),
        apply: applyDbRecord,
        capture: (state) => ({ document: documentOf(state) }),
      },
      { ...options, lock: false },
    );
    return new Database(log);
  }

  get durable(): DurableLog<DbState, DbRecord> {
    return this.log;
  }

  namespaces(): string[] {
    return [...this.log.state.keys()];
  }

  get(ns: string, key?: unknown): unknown {
    const space = this.log.state.get(validNamespace(ns));
    if (!space) throw new DbError(404, `Namespace ${ns} not found`);
    if (key === undefined || key === null) return space;
    let node: unknown = space;
    for (const part of parseKey(key)) {
      if (!isObject(node) || !ownHas(node, part)) throw new DbError(404, `Key '${Array.isArray(key) ? key.join(".") : String(key)}' in namespace '${ns}' not found`);
      node = ownGet(node, part);
    }
    return node;
  }

  async post(ns: string, key: unknown, value: unknown): Promise<unknown> {
    validNamespace(ns);
    const parts = parseKey(key);
    if (!this.log.state.has(ns) && this.log.state.size >= MAX_NAMESPACES) throw new DbError(400, `Too many namespaces (at most ${MAX_NAMESPACES})`);
    if (valueDepth(value, MAX_VALUE_DEPTH + 1) > MAX_VALUE_DEPTH) throw new DbError(400, `Value nested deeper than ${MAX_VALUE_DEPTH} levels`);
    const size = jsonBytes(value);
    if (size > MAX_VALUE_BYTES) throw new DbError(413, `Value of ${size} bytes is larger than ${MAX_VALUE_BYTES} bytes`);
    if (parts.length + valueDepth(value, MAX_VALUE_DEPTH + 1) > MAX_VALUE_DEPTH + MAX_KEY_DEPTH) throw new DbError(400, `Item nested too deep`);
    const space = this.log.state.get(ns);
    if (space) {
      // The namespace after this write, measured before anything changes.
      const replaced = (() => {
        try {
          return jsonBytes(this.get(ns, parts));
        } catch {
          return 0;
        }
      })();
      const after = jsonBytes(space) - replaced + size + Buffer.byteLength(JSON.stringify(parts));
      if (after > MAX_NAMESPACE_BYTES) throw new DbError(413, `Namespace '${ns}' would hold ${after} bytes, more than ${MAX_NAMESPACE_BYTES}`);
    }
    await this.log.append({ op: "post", ns, key: parts, value: value ?? null });
    return value ?? null;
  }

  async delete(ns: string, key: unknown): Promise<unknown> {
    const value = this.get(ns, key);
    await this.log.append({ op: "delete", ns, key: parseKey(key) });
    return value;
  }

  async close(): Promise<void> {
    await this.log.close();
  }
}

/** The document: namespaces as one object (own properties, whatever their names). */
function documentOf(state: DbState): Record<string, unknown> {
  const doc = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of state) ownSet(doc, k, plainCopy(v));
  return doc;
}
