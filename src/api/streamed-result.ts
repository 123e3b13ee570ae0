// A handler's result too large to build in memory (a `limit=0` history list): over HTTP it is
// streamed in chunks; over JSON-RPC (HTTP or WebSocket, one message by protocol) `toJSON` hands
// JSON.stringify a lazy array, so each job is built, serialised and dropped in turn and only
// the reply text itself is held.

const encoder = new TextEncoder();

export class StreamedList<T> {
  constructor(
    /** The key before the list (Moonraker's `count`) and its value. */
    readonly count: number,
    private readonly size: number,
    /** Item `i` of the list, or undefined when it vanished meanwhile (it is left out). */
    private readonly item: (i: number) => T | undefined,
  ) {}

  /** `{"result":{"count":N,"jobs":[...]}}`, byte for byte what JSON.stringify would give. */
  httpResponse(headers: Record<string, string>): Response {
    let i = 0;
    let first = true;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => c.enqueue(encoder.encode(`{"result":{"count":${JSON.stringify(this.count)},"jobs":[`)),
      pull: (c) => {
        const parts: string[] = [];
        let bytes = 0;
        while (i < this.size && bytes < 64 * 1024) {
          const v = this.item(i++);
          if (v === undefined) continue;
          const s = JSON.stringify(v);
          parts.push(first ? s : "," + s);
          first = false;
          bytes += s.length;
        }
        if (parts.length > 0) c.enqueue(encoder.encode(parts.join("")));
        if (i >= this.size) {
          c.enqueue(encoder.encode("]}}"));
          c.close();
        }
      },
    }, { highWaterMark: 2 });
    return new Response(body, { status: 200, headers });
  }

  toJSON(): { count: number; jobs: T[] } {
    const item = this.item;
    const size = this.size;
    // JSON.stringify reads `length` and each index of an array (a Proxy of one counts): items
    // are produced one at a time. Vanished items become null, which keeps the count honest.
    const jobs = new Proxy([] as T[], {
      get: (target, prop, receiver) => {
        if (prop === "length") return size;
        if (typeof prop === "string" && /^\d+$/.test(prop)) return item(Number(prop)) ?? null;
        return Reflect.get(target, prop, receiver);
      },
    });
    return { count: this.count, jobs };
  }
}
