// A handler's result too large to build in memory (a `limit=0` history list): its answer's text
// is produced in pieces of about 64 KB, each job read, serialised and dropped in turn — as an
// HTTP body (GET, or POST /server/jsonrpc) or as the fragments of one WebSocket message. Where a
// transport needs one whole message (batches, MQTT), `toJSON` hands JSON.stringify a lazy array.

const encoder = new TextEncoder();
/** Characters of JSON per piece: large enough to amortise a write, small enough to hold. */
const PIECE_CHARS = 64 * 1024;

/** The text of one answer, in order, piece by piece (an iterator may stop early: nothing is held). */
export class StreamedText implements Iterable<string> {
  constructor(private readonly pieces: () => Iterator<string>) {}
  [Symbol.iterator](): Iterator<string> {
    return this.pieces();
  }
}

/** A ReadableStream of the text, one piece per pull: the socket's back-pressure paces the reads. */
export function streamBody(text: StreamedText): ReadableStream<Uint8Array> {
  let it: Iterator<string> | null = null;
  return new ReadableStream<Uint8Array>(
    {
      pull: (c) => {
        it ??= text[Symbol.iterator]();
        const next = it.next();
        if (next.done) c.close();
        else c.enqueue(encoder.encode(next.value));
      },
      cancel: () => void it?.return?.(),
    },
    { highWaterMark: 2 },
  );
}

export class StreamedList<T> {
  constructor(
    private readonly size: number,
    /** Item `i` of the list, or undefined when it vanished meanwhile (it is left out). */
    private readonly item: (i: number) => T | undefined,
    /** Whether item `i` is still there, without producing it. */
    private readonly alive: (i: number) => boolean,
  ) {}

  /**
   * `head` + `{"jobs":[...],"count":N}` + `tail`. Items are read as the text is sent, so one may
   * vanish in between (a job deleted meanwhile): `count` comes last and counts what was sent.
   */
  text(head: string, tail: string): StreamedText {
    const size = this.size;
    const item = this.item;
    return new StreamedText(function* () {
      let parts: string[] = [`${head}{"jobs":[`];
      let chars = parts[0]!.length;
      let sent = 0;
      for (let i = 0; i < size; i++) {
        const v = item(i);
        if (v === undefined) continue;
        const s = JSON.stringify(v);
        parts.push(sent === 0 ? s : "," + s);
        sent += 1;
        chars += s.length + 1;
        if (chars >= PIECE_CHARS) {
          yield parts.join("");
          parts = [];
          chars = 0;
        }
      }
      parts.push(`],"count":${sent}}${tail}`);
      yield parts.join("");
    });
  }

  /** `{"result":{"jobs":[...],"count":N}}`, streamed. */
  httpResponse(headers: Record<string, string>): Response {
    return new Response(streamBody(this.text(`{"result":`, "}")), { status: 200, headers });
  }

  /** A whole JSON-RPC reply, `{"jsonrpc":"2.0","result":{...},"id":ID}`, streamed. */
  rpcReply(id: string | number | null): StreamedText {
    return this.text(`{"jsonrpc":"2.0","result":`, `,"id":${JSON.stringify(id)}}`);
  }

  /**
   * `{count, jobs}` for JSON.stringify, which runs to its end without yielding: the items still
   * there are picked when it starts, and none can vanish before it is done.
   */
  toJSON(): { count: number; jobs: T[] } {
    const item = this.item;
    const present = new Uint32Array(this.size);
    let n = 0;
    for (let i = 0; i < this.size; i++) if (this.alive(i)) present[n++] = i;
    // JSON.stringify reads `length` and each index of an array (a Proxy of one counts): items
    // are produced one at a time.
    const jobs = new Proxy([] as T[], {
      get: (target, prop, receiver) => {
        if (prop === "length") return n;
        if (typeof prop === "string" && /^\d+$/.test(prop)) return item(present[Number(prop)]!);
        return Reflect.get(target, prop, receiver);
      },
    });
    return { count: n, jobs };
  }
}
