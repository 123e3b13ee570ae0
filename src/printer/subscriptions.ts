// Per-connection subscriptions for notify_status_update: each connection gets only its own
// fields, only when they changed, and never an empty update (MO:klippy_connection.py:594-603).
// Values are compared by their JSON text, computed once per round for all connections.

export type ObjectRequest = Record<string, string[] | null>;
export type Status = Record<string, Record<string, unknown>>;

interface Subscription {
  request: ObjectRequest;
  /** "object\0field" -> the JSON text last sent. */
  sent: Map<string, string>;
}

export class Subscriptions {
  private readonly byConnection = new Map<number, Subscription>();

  get size(): number {
    return this.byConnection.size;
  }

  connections(): number[] {
    return [...this.byConnection.keys()];
  }

  /** The union of every subscribed object (to build each object once per round). */
  objectNames(): Set<string> {
    const names = new Set<string>();
    for (const s of this.byConnection.values()) for (const n of Object.keys(s.request)) names.add(n);
    return names;
  }

  /** Replaces a connection's subscription ({} cancels it) and records the first answer as sent. */
  set(connection: number, request: ObjectRequest, firstAnswer: Status): void {
    if (Object.keys(request).length === 0) {
      this.byConnection.delete(connection);
      return;
    }
    const sent = new Map<string, string>();
    for (const [name, obj] of Object.entries(firstAnswer)) for (const [f, v] of Object.entries(obj)) sent.set(`${name}\0${f}`, JSON.stringify(v));
    this.byConnection.set(connection, { request, sent });
  }

  drop(connection: number): void {
    this.byConnection.delete(connection);
  }

  /** The changed fields for each connection, given the current full objects. */
  changes(status: Status): Map<number, Status> {
    const texts = new Map<string, string>();
    const text = (key: string, v: unknown) => {
      let t = texts.get(key);
      if (t === undefined) {
        t = JSON.stringify(v === undefined ? null : v);
        texts.set(key, t);
      }
      return t;
    };
    const out = new Map<number, Status>();
    for (const [id, sub] of this.byConnection) {
      let diff: Status | null = null;
      for (const [name, fields] of Object.entries(sub.request)) {
        // Own properties only: a subscription to "constructor" must not find Object's.
        const obj = Object.hasOwn(status, name) ? status[name] : undefined;
        if (!obj) continue;
        for (const f of fields ?? Object.keys(obj)) {
          const key = `${name}\0${f}`;
          const v = Object.hasOwn(obj, f) ? obj[f] : null;
          const t = text(key, v);
          if (sub.sent.get(key) === t) continue;
          sub.sent.set(key, t);
          diff ??= {};
          (diff[name] ??= {})[f] = v;
        }
      }
      if (diff) out.set(id, diff);
    }
    return out;
  }
}
