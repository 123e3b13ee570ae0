// One generation of the compacted job files: `history-jobs.<gen>.jsonl` (job bodies, one
// checksummed line each, append only) and its index, `history-index.<gen>[.<n>].bin` (48-byte
// entries, each with its CRC: a sorted run, then entries appended later, a later entry for a job
// replacing an earlier one; `<n>` counts the index's own rewrites). Only the lengths named in the
// document count: bytes after them are a compaction that did not finish, and are cut off.

import { closeSync, fsync, fsyncSync, openSync, readSync, write, writeSync, ftruncateSync, fstatSync } from "node:fs";
import { promisify } from "node:util";
import { unlink } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { fsyncDir } from "./durable-file.js";
import { HistoryError } from "./errors.js";
import { DELETED, JobIndex } from "./job-index.js";
import { ENTRY_BYTES, FenceBuilder, IndexRun, encodeEntry, entryIntact, type IndexEntry } from "./index-run.js";
import { LoadedEntries } from "./loaded-entries.js";
import { decodeLine, encodeLine } from "./line-codec.js";
import type { JobRecord } from "./types.js";
import { crc32Table } from "../crc32.js";

export { ENTRY_BYTES, encodeEntry };
const INDEX_MAGIC = "PRINTLOG-INDEX\0\0";
const FORMAT = 2;

export interface FilesState {
  gen: number;
  jobsBytes: number;
  indexBytes: number;
  /** The index file's own generation within `gen` (absent: 0): the index is rewritten alone
   *  when its unsorted part grows, the job file is not. */
  indexGen?: number;
}

export function jobsFileName(gen: number): string {
  return `history-jobs.${gen}.jsonl`;
}

export function indexFileName(gen: number, indexGen = 0): string {
  return indexGen === 0 ? `history-index.${gen}.bin` : `history-index.${gen}.${indexGen}.bin`;
}

/** Names a compaction may leave behind (the ones a document does not name are removed). */
export const GENERATION_FILE = /^history-(jobs\.\d+\.jsonl|index\.\d+(\.\d+)?\.bin)$/;

export function bodyLine(job: JobRecord): string {
  return encodeLine({ job }) + "\n";
}

export function jobsHeader(): string {
  return encodeLine({ jobs: { format: FORMAT } }) + "\n";
}

export function indexHeader(): Buffer {
  const b = Buffer.alloc(ENTRY_BYTES);
  b.write(INDEX_MAGIC, 0, "latin1");
  b.writeUInt32LE(FORMAT, 16);
  b.writeUInt32LE(crc32(b.subarray(0, 44)), 44);
  return b;
}

function openPair(dir: string, gen: number, indexGen: number, flags: string): [number, number] {
  const jfd = openSync(join(dir, jobsFileName(gen)), flags);
  try {
    return [jfd, openSync(join(dir, indexFileName(gen, indexGen)), flags)];
  } catch (e) {
    closeSync(jfd);
    throw e;
  }
}

const writeAsync = (fd: number, buf: Buffer, off: number, len: number, pos: number) =>
  new Promise<number>((resolve, reject) => write(fd, buf, off, len, pos, (e, n) => (e ? reject(e) : resolve(n))));
const fsyncAsync = promisify(fsync);

async function writeAll(fd: number, buf: Buffer, pos: number): Promise<void> {
  for (let done = 0; done < buf.length; ) done += await writeAsync(fd, buf, done, buf.length - done, pos + done);
}

export { crc32Table };

export interface NewIndex {
  indexGen: number;
  fd: number;
  bytes: number;
  run: IndexRun;
}

/** Writes entries in job order to an index file from byte `at`, building the run's fence. */
export class RunWriter {
  private readonly fence = new FenceBuilder();
  private readonly buf = Buffer.allocUnsafe(ENTRY_BYTES * 2048);
  private used = 0;

  constructor(
    private readonly fd: number,
    public end: number,
    private readonly path: string,
    private readonly from = end,
  ) {}

  async add(e: IndexEntry): Promise<void> {
    encodeEntry(e, this.buf, this.used);
    this.fence.add(e.num, e.start, e.end === null ? Number.NaN : e.end);
    this.used += ENTRY_BYTES;
    if (this.used === this.buf.length) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    await writeAll(this.fd, this.buf.subarray(0, this.used), this.end);
    this.end += this.used;
    this.used = 0;
  }

  finish(fd: () => number = ((n) => () => n)(this.fd)): IndexRun {
    return this.fence.finish(fd, this.from, this.path);
  }
}

export class JobFiles {
  private constructor(
    readonly dir: string,
    readonly gen: number,
    private jobsFd: number,
    private indexFd: number,
    public indexGen: number,
    public jobsBytes: number,
    public indexBytes: number,
  ) {}

  get jobsPath(): string {
    return join(this.dir, jobsFileName(this.gen));
  }

  get indexPath(): string {
    return join(this.dir, indexFileName(this.gen, this.indexGen));
  }

  /** Creates an empty generation (headers only), durably. */
  static async create(dir: string, gen: number): Promise<JobFiles> {
    const jobsPath = join(dir, jobsFileName(gen));
    const indexPath = join(dir, indexFileName(gen));
    const jfd = openSync(jobsPath, "w+", 0o644);
    const ifd = openSync(indexPath, "w+", 0o644);
    try {
      const header = Buffer.from(jobsHeader());
      writeSync(jfd, header, 0, header.length, 0);
      writeSync(ifd, indexHeader(), 0, ENTRY_BYTES, 0);
      fsyncSync(jfd);
      fsyncSync(ifd);
      await fsyncDir(dir);
      return new JobFiles(dir, gen, jfd, ifd, 0, header.length, ENTRY_BYTES);
    } catch (e) {
      closeSync(jfd);
      closeSync(ifd);
      throw e;
    }
  }

  /** Opens a generation; a writer cuts off bytes past the committed lengths. */
  static open(dir: string, st: FilesState, readOnly: boolean): JobFiles {
    let fds: [number, number];
    let writable = !readOnly;
    try {
      fds = openPair(dir, st.gen, st.indexGen ?? 0, readOnly ? "r" : "r+");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (readOnly || (code !== "EROFS" && code !== "EACCES" && code !== "EPERM")) throw e;
      // A directory that cannot be written now: serve from it, write once it can be (reopenForWriting).
      fds = openPair(dir, st.gen, st.indexGen ?? 0, "r");
      writable = false;
    }
    const [jfd, ifd] = fds;
    const files = new JobFiles(dir, st.gen, jfd, ifd, st.indexGen ?? 0, st.jobsBytes, st.indexBytes);
    files.writable = writable;
    const short = fstatSync(jfd).size < st.jobsBytes || fstatSync(ifd).size < st.indexBytes;
    if (short) {
      files.close();
      throw new HistoryError("snapshot_corrupt", `${files.jobsPath} or ${files.indexPath} is shorter than the document says (${st.jobsBytes} / ${st.indexBytes} bytes): files were truncated or copied while being written`, { file: files.indexPath });
    }
    if (writable) files.cutUncommitted();
    return files;
  }

  writable = true;

  /** Reopens both files for writing (after the directory was read-only at start). */
  private reopenForWriting(): void {
    if (this.writable) return;
    const [jfd, ifd] = openPair(this.dir, this.gen, this.indexGen, "r+");
    closeSync(this.jobsFd);
    closeSync(this.indexFd);
    this.jobsFd = jfd;
    this.indexFd = ifd;
    this.writable = true;
  }

  /** Truncates both files to the committed lengths (what a failed or crashed compaction left). */
  cutUncommitted(): void {
    if (fstatSync(this.jobsFd).size > this.jobsBytes) ftruncateSync(this.jobsFd, this.jobsBytes);
    if (fstatSync(this.indexFd).size > this.indexBytes) ftruncateSync(this.indexFd, this.indexBytes);
  }

  /**
   * Reads the index: its leading sorted run (unique, ascending, no deletions: what a rewrite
   * writes, and what appending new jobs keeps) stays on disk behind a fence; entries after it
   * (replacements and deletions, later ones winning) go to the overlay. Every entry is checked;
   * rotten ones are reported, not served.
   */
  loadIndex(onRot: (message: string) => void): JobIndex {
    const head = Buffer.alloc(ENTRY_BYTES);
    readSync(this.indexFd, head, 0, ENTRY_BYTES, 0);
    if (head.toString("latin1", 0, 16) !== INDEX_MAGIC || crc32(head.subarray(0, 44)) !== head.readUInt32LE(44)) {
      throw new HistoryError("snapshot_corrupt", `${this.indexPath}: not a printlog index (bad header)`, { file: this.indexPath });
    }
    const version = head.readUInt32LE(16);
    if (version !== FORMAT) throw new HistoryError("snapshot_corrupt", `${this.indexPath}: index format ${version} is not one this printlog reads`, { file: this.indexPath });
    // Small reads (192 KB): a large chunk would stay allocated until the next collection.
    const chunk = Buffer.alloc(ENTRY_BYTES * 4096);
    const fence = new FenceBuilder();
    let inRun = true;
    const rest = new LoadedEntries();
    for (let pos = ENTRY_BYTES; pos < this.indexBytes; ) {
      const want = Math.min(chunk.length, this.indexBytes - pos);
      const got = readSync(this.indexFd, chunk, 0, want, pos);
      if (got < want) throw new HistoryError("snapshot_corrupt", `${this.indexPath}: ends at byte ${pos + got}, before ${this.indexBytes}`, { file: this.indexPath });
      for (let at = 0; at + ENTRY_BYTES <= got; at += ENTRY_BYTES) {
        if (!entryIntact(chunk, at)) {
          onRot(`${this.indexPath} byte ${pos + at}: index entry checksum mismatch (bit rot); that job is not served`);
          inRun = false;
          continue;
        }
        const num = chunk.readDoubleLE(at);
        const status = chunk[at + 36]!;
        const start = chunk.readDoubleLE(at + 8);
        const end = chunk.readDoubleLE(at + 16);
        if (inRun && status !== DELETED && num > fence.lastNum) {
          fence.add(num, start, end);
          continue;
        }
        inRun = false;
        rest.push(num, start, end, status, chunk.readDoubleLE(at + 24), chunk.readUInt32LE(at + 32));
      }
      pos += got;
    }
    const index = new JobIndex(fence.finish(() => this.indexFd, ENTRY_BYTES, this.indexPath));
    rest.applyTo(index);
    return index;
  }

  /** Reads and verifies one body. */
  readBody(off: number, len: number): JobRecord {
    const buf = Buffer.allocUnsafe(len);
    const got = readSync(this.jobsFd, buf, 0, len, off);
    const where = { file: this.jobsPath, byte: off };
    if (got !== len) throw new HistoryError("record_corrupt", `${this.jobsPath} byte ${off}: job record cut short`, where);
    const decoded = decodeLine(buf.toString("utf8", 0, len - 1));
    if (!decoded.ok) {
      const why = decoded.reason === "checksum" ? "checksum mismatch (bit rot or an edit)" : "not a job record";
      throw new HistoryError("record_corrupt", `${this.jobsPath} byte ${off}: ${why}; the job is not served`, where);
    }
    return decoded.value["job"] as JobRecord;
  }

  /** Raw body bytes (for copying to a new generation without parsing). */
  readRaw(off: number, len: number): Buffer {
    const buf = Buffer.allocUnsafe(len);
    readSync(this.jobsFd, buf, 0, len, off);
    return buf;
  }

  /** Appends bodies and index entries after the committed lengths (plus `skip` bytes already
   *  copied into the job file), fsync'd. Returns bytes written. */
  async append(bodies: Buffer, entries: Buffer, skip = 0): Promise<number> {
    this.reopenForWriting();
    if (skip === 0) this.cutUncommitted();
    if (bodies.length > 0) await writeAll(this.jobsFd, bodies, this.jobsBytes + skip);
    if (entries.length > 0) await writeAll(this.indexFd, entries, this.indexBytes);
    await fsyncAsync(this.jobsFd);
    await fsyncAsync(this.indexFd);
    return bodies.length + entries.length;
  }

  /** Writes a new sorted index (generation `indexGen`) for these job files, fsync'd, from
   *  `fill`, which adds its entries in job order. The files keep using the old index until `adoptIndex`. */
  async writeIndex(indexGen: number, fill: (w: RunWriter) => Promise<void>): Promise<NewIndex> {
    const path = join(this.dir, indexFileName(this.gen, indexGen));
    const fd = openSync(path, "w+", 0o644);
    try {
      writeSync(fd, indexHeader(), 0, ENTRY_BYTES, 0);
      const w = new RunWriter(fd, ENTRY_BYTES, path);
      await fill(w);
      await w.flush();
      await fsyncAsync(fd);
      await fsyncDir(this.dir);
      return { indexGen, fd, bytes: w.end, run: w.finish() };
    } catch (e) {
      closeSync(fd);
      await unlink(path).catch(() => undefined);
      throw e;
    }
  }

  /** Switches to an index written by `writeIndex` (the old file is closed; `removeIndex` deletes it). */
  adoptIndex(n: NewIndex): void {
    closeSync(this.indexFd);
    this.indexFd = n.fd;
    this.indexGen = n.indexGen;
    this.indexBytes = n.bytes;
  }

  /** Writes the sorted index of a new generation (its file exists, with its header). */
  async fillIndex(fill: (w: RunWriter) => Promise<void>): Promise<IndexRun> {
    const w = new RunWriter(this.indexFd, ENTRY_BYTES, this.indexPath);
    await fill(w);
    await w.flush();
    return w.finish(() => this.indexFd);
  }

  /** Appends raw bytes to the job file after `at`, not fsync'd (`append` syncs). */
  async writeBodies(bytes: Buffer, at: number): Promise<void> {
    this.reopenForWriting();
    await writeAll(this.jobsFd, bytes, at);
  }

  close(): void {
    closeSync(this.jobsFd);
    closeSync(this.indexFd);
  }

  async remove(): Promise<void> {
    await unlink(this.jobsPath).catch(() => undefined);
    await unlink(this.indexPath).catch(() => undefined);
  }
}
