// One generation of the compacted job files: `history-jobs.<gen>.jsonl` (job bodies, one
// checksummed line each, append only) and `history-index.<gen>.bin` (48-byte entries, each with
// its CRC; a later entry for a job replaces an earlier one). Only the lengths named in the
// document count: bytes after them are a compaction that did not finish, and are cut off.

import { closeSync, fsync, fsyncSync, openSync, readSync, write, writeSync, ftruncateSync, fstatSync } from "node:fs";
import { promisify } from "node:util";
import { unlink } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { fsyncDir } from "./durable-file.js";
import { HistoryError } from "./errors.js";
import { DELETED, JobIndex, type IndexEntry } from "./job-index.js";
import { decodeLine, encodeLine } from "./line-codec.js";
import type { JobRecord } from "./types.js";
import { crc32Table } from "../crc32.js";

export const ENTRY_BYTES = 48;
const INDEX_MAGIC = "PRINTLOG-INDEX\0\0";
const FORMAT = 2;

export interface FilesState {
  gen: number;
  jobsBytes: number;
  indexBytes: number;
}

export function jobsFileName(gen: number): string {
  return `history-jobs.${gen}.jsonl`;
}

export function indexFileName(gen: number): string {
  return `history-index.${gen}.bin`;
}

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

export function encodeEntry(e: IndexEntry, into: Buffer, at: number): void {
  into.fill(0, at, at + ENTRY_BYTES);
  into.writeDoubleLE(e.num, at);
  into.writeDoubleLE(e.start, at + 8);
  into.writeDoubleLE(e.end === null ? Number.NaN : e.end, at + 16);
  into.writeDoubleLE(e.off, at + 24);
  into.writeUInt32LE(e.len, at + 32);
  into.writeUInt8(e.status, at + 36);
  into.writeUInt32LE(crc32(into.subarray(at, at + 44)), at + 44);
}

function openPair(dir: string, gen: number, flags: string): [number, number] {
  const jfd = openSync(join(dir, jobsFileName(gen)), flags);
  try {
    return [jfd, openSync(join(dir, indexFileName(gen)), flags)];
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

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export { crc32Table };

export class JobFiles {
  private constructor(
    readonly dir: string,
    readonly gen: number,
    private jobsFd: number,
    private indexFd: number,
    public jobsBytes: number,
    public indexBytes: number,
  ) {}

  get jobsPath(): string {
    return join(this.dir, jobsFileName(this.gen));
  }

  get indexPath(): string {
    return join(this.dir, indexFileName(this.gen));
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
      return new JobFiles(dir, gen, jfd, ifd, header.length, ENTRY_BYTES);
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
      fds = openPair(dir, st.gen, readOnly ? "r" : "r+");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (readOnly || (code !== "EROFS" && code !== "EACCES" && code !== "EPERM")) throw e;
      // A directory that cannot be written now: serve from it, write once it can be (reopenForWriting).
      fds = openPair(dir, st.gen, "r");
      writable = false;
    }
    const [jfd, ifd] = fds;
    const files = new JobFiles(dir, st.gen, jfd, ifd, st.jobsBytes, st.indexBytes);
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
    const [jfd, ifd] = openPair(this.dir, this.gen, "r+");
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

  /** Reads every index entry into `index` (later entries replace earlier ones); rotten entries are reported, not served. */
  loadIndex(index: JobIndex, onRot: (message: string) => void): void {
    const head = Buffer.alloc(ENTRY_BYTES);
    readSync(this.indexFd, head, 0, ENTRY_BYTES, 0);
    if (head.toString("latin1", 0, 16) !== INDEX_MAGIC || crc32(head.subarray(0, 44)) !== head.readUInt32LE(44)) {
      throw new HistoryError("snapshot_corrupt", `${this.indexPath}: not a printlog index (bad header)`, { file: this.indexPath });
    }
    const version = head.readUInt32LE(16);
    if (version !== FORMAT) throw new HistoryError("snapshot_corrupt", `${this.indexPath}: index format ${version} is not one this printlog reads`, { file: this.indexPath });
    // Small reads (192 KB): a large chunk would stay allocated until the next collection.
    const chunk = Buffer.alloc(ENTRY_BYTES * 4096);
    index.reserve(index.count + Math.floor(this.indexBytes / ENTRY_BYTES));
    const removed = new Set<number>();
    for (let pos = ENTRY_BYTES; pos < this.indexBytes; ) {
      const want = Math.min(chunk.length, this.indexBytes - pos);
      const got = readSync(this.indexFd, chunk, 0, want, pos);
      if (got < want) throw new HistoryError("snapshot_corrupt", `${this.indexPath}: ends at byte ${pos + got}, before ${this.indexBytes}`, { file: this.indexPath });
      if (LITTLE_ENDIAN) {
        // The fast path (every Pi and PC): typed views over the chunk, a table CRC, no objects.
        const f64 = new Float64Array(chunk.buffer, chunk.byteOffset, got >> 3);
        const u32 = new Uint32Array(chunk.buffer, chunk.byteOffset, got >> 2);
        for (let at = 0, e = 0; at + ENTRY_BYTES <= got; at += ENTRY_BYTES, e++) {
          if (crc32Table(chunk, at, at + 44) !== u32[e * 12 + 11]) {
            onRot(`${this.indexPath} byte ${pos + at}: index entry checksum mismatch (bit rot); that job is not served`);
            continue;
          }
          const num = f64[e * 6]!;
          const status = chunk[at + 36]!;
          if (status === DELETED) {
            if (index.find(num) !== -1) removed.add(num);
            continue;
          }
          if (removed.size > 0 && removed.has(num)) removed.delete(num);
          index.put(num, f64[e * 6 + 1]!, f64[e * 6 + 2]!, status, f64[e * 6 + 3]!, u32[e * 12 + 8]!);
        }
        pos += got;
        continue;
      }
      for (let at = 0; at + ENTRY_BYTES <= got; at += ENTRY_BYTES) {
        if (crc32(chunk.subarray(at, at + 44)) !== chunk.readUInt32LE(at + 44)) {
          onRot(`${this.indexPath} byte ${pos + at}: index entry checksum mismatch (bit rot); that job is not served`);
          continue;
        }
        const num = chunk.readDoubleLE(at);
        const status = chunk.readUInt8(at + 36);
        if (status === DELETED) {
          const p = index.find(num);
          if (p !== -1) removed.add(num);
          continue;
        }
        if (removed.size > 0 && removed.has(num)) removed.delete(num);
        const end = chunk.readDoubleLE(at + 16);
        index.upsert({ num, start: chunk.readDoubleLE(at + 8), end: Number.isNaN(end) ? null : end, status, off: chunk.readDoubleLE(at + 24), len: chunk.readUInt32LE(at + 32) });
      }
      pos += got;
    }
    if (removed.size > 0) index.remove(removed);
    index.fit();
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

  /** Copies bodies from another generation, unparsed, in chunks (`to` offsets are contiguous). */
  async copyFrom(from: JobFiles, copies: readonly { from: number; len: number; to: number }[]): Promise<void> {
    const chunk = Buffer.allocUnsafe(4 * 1024 * 1024);
    let i = 0;
    while (i < copies.length) {
      let used = 0;
      const to = copies[i]!.to;
      while (i < copies.length && used + copies[i]!.len <= chunk.length) {
        readSync(from.jobsFd, chunk, used, copies[i]!.len, copies[i]!.from);
        used += copies[i]!.len;
        i++;
      }
      if (used === 0) {
        // One body larger than the chunk.
        await writeAll(this.jobsFd, from.readRaw(copies[i]!.from, copies[i]!.len), to);
        i++;
        continue;
      }
      await writeAll(this.jobsFd, chunk.subarray(0, used), to);
    }
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

  close(): void {
    closeSync(this.jobsFd);
    closeSync(this.indexFd);
  }

  async remove(): Promise<void> {
    await unlink(this.jobsPath).catch(() => undefined);
    await unlink(this.indexPath).catch(() => undefined);
  }
}
