// A sorted run of index entries on disk: the part of an index file whose entries are unique,
// ascending by job number and not deletions. It is read by position, a page at a time, through a
// small cache; memory holds only a fence (each page's first job number and time bounds).

import { readSync } from "node:fs";
import { crc32 } from "node:zlib";
import { crc32Table } from "../crc32.js";
import { HistoryError } from "./errors.js";

export const ENTRY_BYTES = 48;
/** Entries per page: 12 KB pages; the fence costs 20 bytes a page (80 KB at a million jobs). */
export const PAGE_ENTRIES = 256;
const PAGE_BYTES = PAGE_ENTRIES * ENTRY_BYTES;
/** Pages kept decoded: the newest page (every client reads it) and a few others. */
const CACHE_PAGES = 16;

/** The status code of an entry that records a deletion (job-index.ts has the others). */
export const DELETED = 255;

/** One index entry. `end` null: the job is running; `off` -1: the body is in memory. */
export interface IndexEntry {
  num: number;
  start: number;
  end: number | null;
  status: number;
  off: number;
  len: number;
}

/** Writes entry `e` at `at` (48 bytes: num, start, end, off as doubles, len, status, CRC). */
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

/** Checks an entry's CRC (bytes 0..43 against 44..47). */
export function entryIntact(buf: Uint8Array, at: number): boolean {
  const stored = (buf[at + 44]! | (buf[at + 45]! << 8) | (buf[at + 46]! << 16) | (buf[at + 47]! << 24)) >>> 0;
  return crc32Table(buf, at, at + 44) === stored;
}

/** Builds a fence while entries are appended in order (loading, or writing a new run). */
export class FenceBuilder {
  count = 0;
  firstNum = new Float64Array(64);
  maxStart = new Float64Array(64);
  minEnd = new Float64Array(64);
  lastNum = -1;

  add(num: number, start: number, end: number): void {
    const page = Math.floor(this.count / PAGE_ENTRIES);
    if (this.count % PAGE_ENTRIES === 0) {
      if (page === this.firstNum.length) {
        const grow = (a: Float64Array) => {
          const b = new Float64Array(a.length * 2);
          b.set(a);
          return b;
        };
        this.firstNum = grow(this.firstNum);
        this.maxStart = grow(this.maxStart);
        this.minEnd = grow(this.minEnd);
      }
      this.firstNum[page] = num;
      this.maxStart[page] = start;
      this.minEnd[page] = Number.isNaN(end) ? Infinity : end;
    } else {
      if (start > this.maxStart[page]!) this.maxStart[page] = start;
      if (end < this.minEnd[page]!) this.minEnd[page] = end; // NaN (running) never lowers it
    }
    this.lastNum = num;
    this.count += 1;
  }

  /** The run over `fd` from byte `from` (its first entry). */
  finish(fd: () => number, from: number, path: string): IndexRun {
    const pages = Math.ceil(this.count / PAGE_ENTRIES);
    return new IndexRun(fd, from, path, this.count, this.firstNum.slice(0, pages), this.maxStart.slice(0, pages), this.minEnd.slice(0, pages), this.lastNum);
  }
}

interface Page {
  buf: Buffer;
  /** Entries whose CRC was checked. */
  checked: Uint8Array;
}

export class IndexRun {
  private readonly cache = new Map<number, Page>();

  constructor(
    /** The file's descriptor now (it changes when a read-only start becomes writable). */
    private readonly fd: () => number,
    private readonly from: number,
    readonly path: string,
    readonly count: number,
    /** Per page: the first entry's job number, the latest start, the earliest end (Infinity: none). */
    readonly firstNum: Float64Array,
    readonly maxStart: Float64Array,
    readonly minEnd: Float64Array,
    /** The last entry's job number (-1: empty). */
    readonly lastNum: number,
  ) {}

  /** This run with `entries` (ascending, above `lastNum`, just appended to the file) added. */
  extend(entries: readonly IndexEntry[]): IndexRun {
    const f = new FenceBuilder();
    const pages = this.pages;
    f.firstNum = new Float64Array(Math.max(64, pages * 2));
    f.maxStart = new Float64Array(f.firstNum.length);
    f.minEnd = new Float64Array(f.firstNum.length);
    f.firstNum.set(this.firstNum);
    f.maxStart.set(this.maxStart);
    f.minEnd.set(this.minEnd);
    f.count = this.count;
    f.lastNum = this.lastNum;
    for (const e of entries) f.add(e.num, e.start, e.end === null ? Number.NaN : e.end);
    return f.finish(this.fd, this.from, this.path);
  }

  static empty(): IndexRun {
    return new IndexRun(() => -1, 0, "", 0, new Float64Array(0), new Float64Array(0), new Float64Array(0), -1);
  }

  get pages(): number {
    return this.firstNum.length;
  }

  /** The page holding position `b`, read once and kept (most recent last). */
  private page(p: number): Page {
    const hit = this.cache.get(p);
    if (hit) {
      this.cache.delete(p);
      this.cache.set(p, hit);
      return hit;
    }
    const entries = Math.min(PAGE_ENTRIES, this.count - p * PAGE_ENTRIES);
    const buf = Buffer.allocUnsafeSlow(entries * ENTRY_BYTES);
    const at = this.from + p * PAGE_BYTES;
    const got = readSync(this.fd(), buf, 0, buf.length, at);
    if (got !== buf.length) throw new HistoryError("snapshot_corrupt", `${this.path} byte ${at + got}: index cut short`, { file: this.path, byte: at + got });
    const page = { buf, checked: new Uint8Array(entries) };
    this.cache.set(p, page);
    if (this.cache.size > CACHE_PAGES) this.cache.delete(this.cache.keys().next().value!);
    return page;
  }

  /** The page buffer and offset of entry `b`, its CRC checked on first use. */
  private entry(b: number): [Buffer, number] {
    const p = Math.floor(b / PAGE_ENTRIES);
    const { buf, checked } = this.page(p);
    const e = b % PAGE_ENTRIES;
    const at = e * ENTRY_BYTES;
    if (!checked[e]) {
      if (!entryIntact(buf, at)) {
        // Rot since start-up (the load checked every entry): that entry is not served.
        const byte = this.from + p * PAGE_BYTES + at;
        throw new HistoryError("record_corrupt", `${this.path} byte ${byte}: index entry checksum mismatch (bit rot); not served`, { file: this.path, byte });
      }
      checked[e] = 1;
    }
    return [buf, at];
  }

  numAt(b: number): number {
    const [buf, at] = this.entry(b);
    return buf.readDoubleLE(at);
  }

  /** Reads entry `b` into `into`. */
  read(b: number, into: IndexEntry): IndexEntry {
    const [buf, at] = this.entry(b);
    into.num = buf.readDoubleLE(at);
    into.start = buf.readDoubleLE(at + 8);
    const end = buf.readDoubleLE(at + 16);
    into.end = Number.isNaN(end) ? null : end;
    into.off = buf.readDoubleLE(at + 24);
    into.len = buf.readUInt32LE(at + 32);
    into.status = buf[at + 36]!;
    return into;
  }

  /** Number of entries with a job number below `num`. */
  lowerBound(num: number): number {
    const f = this.firstNum;
    if (this.count === 0 || num <= f[0]!) return 0;
    // The last page whose first number is below num holds the boundary.
    let lo = 0;
    let hi = f.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (f[mid]! < num) lo = mid;
      else hi = mid - 1;
    }
    const first = lo * PAGE_ENTRIES;
    let a = first + 1;
    let z = Math.min(this.count, first + PAGE_ENTRIES);
    while (a < z) {
      const mid = (a + z) >> 1;
      if (this.numAt(mid) < num) a = mid + 1;
      else z = mid;
    }
    return a;
  }

  /** Position of job `num`, or -1. */
  find(num: number): number {
    const b = this.lowerBound(num);
    return b < this.count && this.numAt(b) === num ? b : -1;
  }
}
