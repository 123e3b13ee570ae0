// The index's overlay: the entries changed since the run on disk was written, ascending by job
// number, in parallel typed arrays (about 50 bytes an entry). `base` is the run position of the
// job when `inRun`, else the count of run entries below it. A DELETED entry not in the run is a
// tombstone, kept so a compaction running meanwhile learns of the removal.

import { DELETED, type IndexEntry, type IndexRun } from "./index-run.js";

export class IndexOverlay {
  n = 0;
  num = new Float64Array(16);
  start = new Float64Array(16);
  end = new Float64Array(16);
  off = new Float64Array(16);
  len = new Uint32Array(16);
  status = new Uint8Array(16);
  inRun = new Uint8Array(16);
  base = new Int32Array(16);
  version = new Float64Array(16);

  /** Index of `num`, or -(insertion point) - 1. */
  find(num: number): number {
    const a = this.num;
    let lo = 0;
    let hi = this.n - 1;
    if (hi >= 0 && a[hi] === num) return hi;
    if (hi >= 0 && a[hi]! < num) return -(hi + 1) - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = a[mid]!;
      if (v === num) return mid;
      if (v < num) lo = mid + 1;
      else hi = mid - 1;
    }
    return -lo - 1;
  }

  private grow(): void {
    const cap = this.num.length * 2;
    const n = this.n;
    const f = <T extends Float64Array | Uint32Array | Uint8Array | Int32Array>(a: T, make: (c: number) => T): T => {
      const b = make(cap);
      b.set(a.subarray(0, n));
      return b;
    };
    const f64 = (c: number) => new Float64Array(c);
    this.num = f(this.num, f64);
    this.start = f(this.start, f64);
    this.end = f(this.end, f64);
    this.off = f(this.off, f64);
    this.version = f(this.version, f64);
    this.len = f(this.len, (c) => new Uint32Array(c));
    this.status = f(this.status, (c) => new Uint8Array(c));
    this.inRun = f(this.inRun, (c) => new Uint8Array(c));
    this.base = f(this.base, (c) => new Int32Array(c));
  }

  /** Opens a slot at index `at` for job `num`, placed against `run`. */
  insert(at: number, num: number, run: IndexRun): void {
    if (this.n === this.num.length) this.grow();
    if (at < this.n) {
      for (const a of [this.num, this.start, this.end, this.off, this.version, this.len, this.status, this.inRun, this.base]) a.copyWithin(at + 1, at, this.n);
    }
    this.n += 1;
    const lb = run.lowerBound(num);
    this.num[at] = num;
    this.inRun[at] = lb < run.count && run.numAt(lb) === num ? 1 : 0;
    this.base[at] = lb;
  }

  /** Sets slot `i` from `e`; true when it became or stopped being a deletion. */
  set(i: number, e: IndexEntry, version: number): boolean {
    const flipped = (this.status[i] === DELETED) !== (e.status === DELETED);
    this.start[i] = e.start;
    this.end[i] = e.end === null ? Number.NaN : e.end;
    this.off[i] = e.off;
    this.len[i] = e.len;
    this.status[i] = e.status;
    this.version[i] = version;
    return flipped;
  }

  read(i: number, into: IndexEntry): IndexEntry {
    into.num = this.num[i]!;
    into.start = this.start[i]!;
    const end = this.end[i]!;
    into.end = Number.isNaN(end) ? null : end;
    into.off = this.off[i]!;
    into.len = this.len[i]!;
    into.status = this.status[i]!;
    return into;
  }

  /** A copy (for a compaction's frozen index). */
  clone(): IndexOverlay {
    const c = new IndexOverlay();
    const cap = Math.max(16, this.n);
    c.n = this.n;
    c.num = this.num.slice(0, cap);
    c.start = this.start.slice(0, cap);
    c.end = this.end.slice(0, cap);
    c.off = this.off.slice(0, cap);
    c.len = this.len.slice(0, cap);
    c.status = this.status.slice(0, cap);
    c.inRun = this.inRun.slice(0, cap);
    c.base = this.base.slice(0, cap);
    c.version = this.version.slice(0, cap);
    return c;
  }
}
