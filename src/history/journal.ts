// The append-only JSON-lines journal: one versioned record per line, fsync'd on demand.
// Recovery drops a torn final line (and cuts it off the file) but refuses a corrupt line in the
// middle, naming file and line, so history is never silently discarded.

import { open, readFile, type FileHandle } from "node:fs/promises";
import { HistoryError } from "./errors.js";

export interface JournalEntry<R> {
  v: 1;
  seq: number;
  rec: R;
}

export interface RecoveredJournal<R> {
  entries: JournalEntry<R>[];
  /** Bytes of the valid prefix; anything after it was torn and has been cut off. */
  validBytes: number;
  tornTail: string | null;
}

function isEntry(value: unknown): value is JournalEntry<unknown> {
  if (typeof value !== "object" || value === null) return false;
  const e = value as Record<string, unknown>;
  return e["v"] === 1 && Number.isSafeInteger(e["seq"]) && typeof e["rec"] === "object" && e["rec"] !== null;
}

/** Parses journal text. Pure: the caller decides what to do with a torn tail. */
export function parseJournal<R>(text: string, file: string): RecoveredJournal<R> {
  const entries: JournalEntry<R>[] = [];
  let offset = 0;
  let lineNo = 0;
  let lastSeq = -Infinity;
  while (offset < text.length) {
    const nl = text.indexOf("\n", offset);
    const end = nl === -1 ? text.length : nl;
    const line = text.slice(offset, end);
    lineNo += 1;
    const isLast = nl === -1 || text.slice(nl + 1).replace(/[\0\s]/g, "").length === 0;
    let parsed: unknown;
    let ok = false;
    if (line.trim().length > 0) {
      try {
        parsed = JSON.parse(line);
        ok = isEntry(parsed) && nl !== -1;
      } catch {
        ok = false;
      }
    } else if (!isLast) {
      throw new HistoryError("journal_corrupt", `${file}:${lineNo}: empty line inside the journal`, { file, line: lineNo });
    }
    if (!ok) {
      if (isLast) {
        // A torn write (power lost mid-append) or zero-filled blocks after it.
        return { entries, validBytes: Buffer.byteLength(text.slice(0, offset)), tornTail: text.slice(offset) };
      }
      throw new HistoryError("journal_corrupt", `${file}:${lineNo}: corrupt journal record: ${line.slice(0, 120)}`, {
        file,
        line: lineNo,
      });
    }
    const entry = parsed as JournalEntry<R>;
    if (entry.seq <= lastSeq) {
      throw new HistoryError("journal_corrupt", `${file}:${lineNo}: sequence ${entry.seq} does not follow ${lastSeq}`, {
        file,
        line: lineNo,
      });
    }
    lastSeq = entry.seq;
    entries.push(entry);
    offset = end + 1;
  }
  return { entries, validBytes: Buffer.byteLength(text), tornTail: null };
}

export class Journal {
  private constructor(
    readonly path: string,
    private handle: FileHandle,
    private size: number,
  ) {}

  /** Opens (creating if needed) and recovers the journal, cutting a torn tail off the file. */
  static async open<R>(path: string): Promise<{ journal: Journal; recovered: RecoveredJournal<R> }> {
    let text = "";
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    const recovered = parseJournal<R>(text, path);
    const handle = await open(path, "a+");
    if (recovered.tornTail !== null) {
      await handle.truncate(recovered.validBytes);
      await handle.sync();
    }
    return { journal: new Journal(path, handle, recovered.validBytes), recovered };
  }

  get bytes(): number {
    return this.size;
  }

  /** Appends one line; with `sync` it is on disk when the promise resolves. Returns bytes written. */
  async append(line: string, sync: boolean): Promise<number> {
    const buf = Buffer.from(line + "\n", "utf8");
    await this.handle.appendFile(buf);
    this.size += buf.length;
    if (sync) await this.handle.datasync();
    return buf.length;
  }

  async truncate(): Promise<void> {
    await this.truncateTo(0);
  }

  async truncateTo(bytes: number): Promise<void> {
    await this.handle.truncate(bytes);
    await this.handle.sync();
    this.size = bytes;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
