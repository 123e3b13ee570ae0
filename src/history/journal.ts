// The append-only JSON-lines journal: a header naming the snapshot it follows, then one
// checksummed, versioned record per line, fsync'd on demand. Recovery drops a torn final line
// (and cuts it off the file) but refuses a corrupt or rotten line in the middle, naming file,
// line and byte offset, so history is never silently discarded. Parsing is one linear pass.

import { open, readFile, stat, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { fsyncDir } from "./durable-file.js";
import { HistoryError } from "./errors.js";
import { decodeLine, encodeLine } from "./line-codec.js";

export interface JournalEntry<R> {
  seq: number;
  rec: R;
}

export interface RecoveredJournal<R> {
  /** Format of the records: 2, or 1 for a journal written before checksums (migrated on open). */
  format: 1 | 2;
  /** The snapshot sequence this journal was started after (null: no header, an older format). */
  after: number | null;
  entries: JournalEntry<R>[];
  /** Bytes of the valid prefix; anything after it was torn and has been cut off. */
  validBytes: number;
  tornTail: string | null;
}

export function journalHeader(after: number): string {
  return encodeLine({ journal: { format: 2, after } });
}

export function journalLine(seq: number, rec: unknown): string {
  return encodeLine({ seq, rec });
}

function v1Entry(line: string): JournalEntry<unknown> | null {
  try {
    const e = JSON.parse(line) as Record<string, unknown>;
    if (e?.["v"] === 1 && Number.isSafeInteger(e["seq"]) && typeof e["rec"] === "object" && e["rec"] !== null) {
      return { seq: e["seq"] as number, rec: e["rec"] };
    }
  } catch {
    // not JSON
  }
  return null;
}

/** Parses journal text in one pass. Pure: the caller decides what to do with a torn tail. */
export function parseJournal<R>(text: string, file: string): RecoveredJournal<R> {
  const out: RecoveredJournal<R> = { format: 2, after: null, entries: [], validBytes: 0, tornTail: null };
  // Where the content ends: a torn write may be followed by zero-filled blocks.
  let contentEnd = text.length;
  while (contentEnd > 0 && /[\0\s]/.test(text[contentEnd - 1]!)) contentEnd--;
  let offset = 0;
  let byteOffset = 0;
  let lineNo = 0;
  let lastSeq = -Infinity;
  while (offset < contentEnd) {
    const nl = text.indexOf("\n", offset);
    const end = nl === -1 ? text.length : nl;
    const line = text.slice(offset, end);
    const lineBytes = Buffer.byteLength(line) + 1;
    lineNo += 1;
    const isLast = nl === -1 || nl + 1 >= contentEnd;
    const where = { file, line: lineNo, byte: byteOffset };
    const fail = (why: string): never => {
      throw new HistoryError("journal_corrupt", `${file}:${lineNo} (byte ${byteOffset}): ${why}`, where);
    };
    let entry: JournalEntry<R> | null = null;
    let header: number | null = null;
    const decoded = line.trim().length === 0 ? null : decodeLine(line);
    if (decoded === null) {
      if (!isLast) fail("empty line inside the journal");
    } else if (decoded.ok) {
      const v = decoded.value;
      const j = v["journal"] as Record<string, unknown> | undefined;
      if (j && Number.isSafeInteger(j["after"]) && lineNo === 1) header = j["after"] as number;
      else if (Number.isSafeInteger(v["seq"]) && typeof v["rec"] === "object" && v["rec"] !== null) entry = { seq: v["seq"] as number, rec: v["rec"] as R };
      else fail(`not a journal record: ${line.slice(0, 120)}`);
    } else if (decoded.reason === "checksum") {
      fail("checksum mismatch: the record was changed on disk (bit rot or an edit); it is not served");
    } else if (decoded.reason === "version" && decoded.version === 1 && (out.entries.length === 0 ? lineNo === 1 : out.format === 1)) {
      out.format = 1;
      entry = v1Entry(line) as JournalEntry<R> | null;
      if (!entry) fail(`corrupt journal record: ${line.slice(0, 120)}`);
    } else if (decoded.reason === "version" && decoded.version !== undefined && !isLast) {
      fail(`record format ${JSON.stringify(decoded.version)} is not one this printlog reads (a newer printlog wrote it?)`);
    }
    if (nl === -1 && decoded !== null) entry = header = null; // a final line without its newline is torn
    if (entry === null && header === null && decoded !== null) {
      if (isLast) {
        // A torn write (power lost mid-append) or zero-filled blocks after it.
        out.validBytes = byteOffset;
        out.tornTail = text.slice(offset);
        return out;
      }
      fail(`corrupt journal record: ${line.slice(0, 120)}`);
    }
    if (header !== null) out.after = header;
    if (entry) {
      if (entry.seq <= lastSeq) fail(`sequence ${entry.seq} does not follow ${lastSeq}`);
      lastSeq = entry.seq;
      out.entries.push(entry);
    }
    offset = end + 1;
    byteOffset += lineBytes;
  }
  out.validBytes = byteOffset;
  if (offset < text.length) out.tornTail = text.slice(offset); // zero-filled blocks after the last record
  return out;
}

export class Journal {
  private constructor(
    readonly path: string,
    private handle: FileHandle,
    private size: number,
  ) {}

  /** Reads the journal (empty when missing) without opening it for writing. */
  static async read<R>(path: string): Promise<RecoveredJournal<R>> {
    let text = "";
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    return parseJournal<R>(text, path);
  }

  /** Opens for appending, cutting a torn tail off the file; `recovered` is what `read` returned. */
  static async open(path: string, validBytes: number, torn: boolean): Promise<Journal> {
    const existed = await stat(path).then(() => true, () => false);
    const handle = await open(path, "a+");
    // A new file's directory entry must reach the disk before anything in it is acknowledged.
    if (!existed) await fsyncDir(dirname(path)).catch(async (e) => {
      await handle.close();
      throw e;
    });
    if (torn) {
      await handle.truncate(validBytes);
      await handle.sync();
    }
    return new Journal(path, handle, validBytes);
  }

  get bytes(): number {
    return this.size;
  }

  /** Appends lines; with `sync` they are on disk when the promise resolves. Returns bytes written. */
  async append(text: string, sync: boolean): Promise<number> {
    const buf = Buffer.from(text + "\n", "utf8");
    await this.handle.appendFile(buf);
    this.size += buf.length;
    if (sync) await this.handle.datasync();
    return buf.length;
  }

  /** Starts the journal afresh after a compaction up to `after`. */
  async restart(after: number): Promise<number> {
    await this.handle.truncate(0);
    this.size = 0;
    const n = await this.append(journalHeader(after), false);
    await this.handle.sync();
    return n;
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
