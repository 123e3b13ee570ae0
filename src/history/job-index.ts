// The in-memory index of every job: number, start and end time, status and where its body is,
// in parallel typed arrays sorted by job number (33 bytes a job, outside the JS heap). Bodies
// (metadata, aux data, timeline) stay on disk and are read on demand.

import type { JobStatus } from "./types.js";

/** Status codes of the index (on disk too: append only, never renumber). 255 marks a deletion. */
export const STATUS_CODES: readonly JobStatus[] = [
  "in_progress",
  "completed",
  "cancelled",
  "error",
  "klippy_shutdown",
  "klippy_disconnect",
  "server_exit",
  "interrupted",
];
export const DELETED = 255;
const CODE_OF = new Map(STATUS_CODES.map((s, i) => [s, i]));

export function statusCode(s: JobStatus): number {
  return CODE_OF.get(s) ?? 0;
}

/** Where a body lives: `off` -1 means "in memory" (changed since the last compaction). */
export interface IndexEntry {
  num: number;
  start: number;
  end: number | null;
  status: number;
  off: number;
  len: number;
}

export class JobIndex {
  count = 0;
  nums = new Uint32Array(0);
  start = new Float64Array(0);
  end = new Float64Array(0);
  status = new Uint8Array(0);
  off = new Float64Array(0);
  len = new Uint32Array(0);

  constructor(capacity = 1024) {
    this.resize(capacity);
  }

  private resize(capacity: number): void {
    const grow = <T extends Uint32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(capacity);
      b.set(a.subarray(0, this.count));
      return b;
    };
    this.nums = grow(this.nums, (n) => new Uint32Array(n));
    this.start = grow(this.start, (n) => new Float64Array(n));
    this.end = grow(this.end, (n) => new Float64Array(n));
    this.status = grow(this.status, (n) => new Uint8Array(n));
    this.off = grow(this.off, (n) => new Float64Array(n));
    this.len = grow(this.len, (n) => new Uint32Array(n));
  }

  /** Makes room for `n` jobs at once (loading). */
  reserve(n: number): void {
    if (n > this.capacity) this.resize(n + 1024);
  }

  /** Grows by an eighth (at least 1024): amortised O(1) appends, little spare at a million jobs. */
  private grow(): void {
    this.resize(this.capacity + Math.max(1024, Math.ceil(this.capacity / 8)));
  }

  get capacity(): number {
    return this.nums.length;
  }

  /** Bytes held by the index arrays. */
  get bytes(): number {
    return this.capacity * 33;
  }

  /** Position of job `num`, or -1. */
  find(num: number): number {
    let lo = 0;
    let hi = this.count - 1;
    const nums = this.nums;
    if (hi >= 0 && nums[hi] === num) return hi; // the newest job: the common case
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = nums[mid]!;
      if (v === num) return mid;
      if (v < num) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Inserts or replaces job `e.num`, keeping the order. Returns its position. */
  upsert(e: IndexEntry): number {
    let pos = this.count > 0 && this.nums[this.count - 1]! < e.num ? this.count : this.find(e.num);
    if (pos === -1 || pos === this.count) {
      if (this.count === this.capacity) this.grow();
      if (pos === -1) {
        // Lower than the newest (an imported job): shift the tail up by one.
        let lo = 0;
        let hi = this.count;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (this.nums[mid]! < e.num) lo = mid + 1;
          else hi = mid;
        }
        pos = lo;
        for (const a of [this.nums, this.start, this.end, this.status, this.off, this.len]) a.copyWithin(pos + 1, pos, this.count);
      }
      this.count += 1;
    }
    this.nums[pos] = e.num;
    this.start[pos] = e.start;
    this.end[pos] = e.end === null ? Number.NaN : e.end;
    this.status[pos] = e.status;
    this.off[pos] = e.off;
    this.len[pos] = e.len;
    return pos;
  }

  /** `upsert` without an entry object (loading a million entries). `end` is NaN for null. */
  put(num: number, start: number, end: number, status: number, off: number, len: number): void {
    const n = this.count;
    if (n > 0 && this.nums[n - 1]! >= num) {
      this.upsert({ num, start, end: Number.isNaN(end) ? null : end, status, off, len });
      return;
    }
    if (n === this.capacity) this.grow();
    this.nums[n] = num;
    this.start[n] = start;
    this.end[n] = end;
    this.status[n] = status;
    this.off[n] = off;
    this.len[n] = len;
    this.count = n + 1;
  }

  /** Removes the jobs in `nums` (one pass). */
  remove(nums: ReadonlySet<number>): void {
    let w = 0;
    for (let r = 0; r < this.count; r++) {
      if (nums.has(this.nums[r]!)) continue;
      if (w !== r) {
        this.nums[w] = this.nums[r]!;
        this.start[w] = this.start[r]!;
        this.end[w] = this.end[r]!;
        this.status[w] = this.status[r]!;
        this.off[w] = this.off[r]!;
        this.len[w] = this.len[r]!;
      }
      w++;
    }
    this.count = w;
  }

  clear(): void {
    this.count = 0;
    this.resize(1024);
  }

  endAt(pos: number): number | null {
    const e = this.end[pos]!;
    return Number.isNaN(e) ? null : e;
  }

  /** Trims spare capacity after loading, so memory is what the jobs need. */
  fit(): void {
    if (this.capacity > this.count + 4096) this.resize(this.count + 1024);
  }
}
