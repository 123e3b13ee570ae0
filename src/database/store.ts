// Moonraker's key-value database (server.database.*), where Mainsail keeps job notes
// (`history_notes`) and both clients keep their settings. Same journal + snapshot durability
// as the history: a note saved is a note kept.

import { DurableLog, type DurableLogOptions } from "../history/durable-log.js";

export type DbState = Record<string, Record<string, unknown>>;
export type DbRecord = { op: "post"; ns: string; key: string[]; value: unknown } | { op: "delete"; ns: string; key: string[] };

export const MAX_NAMESPACES = 200;
export const MAX_KEY_DEPTH = 16;
export const MAX_VALUE_BYTES = 512 * 1024;

export class DbError extends Error {
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function applyDbRecord(state: DbState, rec: DbRecord): void {
  if (rec.op === "post") {
    if (rec.key.length === 0) {
      if (isObject(rec.value)) state[rec.ns] = rec.value;
      return;
    }
    let node: Record<string, unknown> = (state[rec.ns] ??= {});
    for (const part of rec.key.slice(0, -1)) {
      const next = node[part];
      if (!isObject(next)) node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    node[rec.key[rec.key.length - 1]!] = rec.value;
    return;
  }
  const ns = state[rec.ns];
  if (!ns) return;
  if (rec.key.length === 0) {
    delete state[rec.ns];
    return;
  }
  let node: Record<string, unknown> = ns;
  for (const part of rec.key.slice(0, -1)) {
    const next = node[part];
    if (!isObject(next)) return;
    node = next;
  }
  delete node[rec.key[rec.key.length - 1]!];
  if (Object.keys(ns).length === 0) delete state[rec.ns];
}

/** `a.b.c` or ["a","b","c"] -> parts; throws DbError on an unusable key. */
export function parseKey(key: unknown): string[] {
  const parts = typeof key === "string" ? key.split(".") : Array.isArray(key) ? key.map(String) : null;
  if (!parts || parts.length === 0 || parts.some((p) => p.length === 0 || p.length > 256)) {
    throw new DbError(400, `Invalid key: ${JSON.stringify(key)}`);
  }
  if (parts.length > MAX_KEY_DEPTH) throw new DbError(400, `Key nested deeper than ${MAX_KEY_DEPTH} levels`);
  if (parts.some((p) => p === "__proto__" || p === "constructor" || p === "prototype")) throw new DbError(400, `Invalid key: ${JSON.stringify(key)}`);
  return parts;
}

function validNamespace(ns: string): string {
  if (ns.length === 0 || ns.length > 64 || !/^[\w.-]+$/.test(ns) || ns === "__proto__") throw new DbError(400, `Invalid namespace: ${ns}`);
  return ns;
}

export class Database {
  private constructor(private readonly log: DurableLog<DbState, DbRecord>) {}

  static async open(dir: string, options: DurableLogOptions): Promise<Database> {
    const log = await DurableLog.open<DbState, DbRecord>(dir, { name: "database", initial: () => ({}), apply: applyDbRecord }, options);
    return new Database(log);
  }

  namespaces(): string[] {
    return Object.keys(this.log.state);
  }

  get(ns: string, key?: unknown): unknown {
    const space = this.log.state[validNamespace(ns)];
    if (!space) throw new DbError(404, `Namespace ${ns} not found`);
    if (key === undefined || key === null) return space;
    let node: unknown = space;
    for (const part of parseKey(key)) {
      if (!isObject(node) || !Object.prototype.hasOwnProperty.call(node, part)) throw new DbError(404, `Key '${Array.isArray(key) ? key.join(".") : String(key)}' in namespace '${ns}' not found`);
      node = node[part];
    }
    return node;
  }

  async post(ns: string, key: unknown, value: unknown): Promise<unknown> {
    validNamespace(ns);
    if (!this.log.state[ns] && this.namespaces().length >= MAX_NAMESPACES) throw new DbError(400, `Too many namespaces (at most ${MAX_NAMESPACES})`);
    const size = Buffer.byteLength(JSON.stringify(value ?? null));
    if (size > MAX_VALUE_BYTES) throw new DbError(400, `Value larger than ${MAX_VALUE_BYTES} bytes`);
    await this.log.append({ op: "post", ns, key: parseKey(key), value: value ?? null });
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
