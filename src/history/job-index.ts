// The index of every job, in job-number order, addressed by position: a sorted run on disk
// (index-run.ts) merged with a small in-memory overlay of what changed since the run was written
// (new jobs, replaced entries, deletions). Memory grows with the overlay, never with the history;
// compaction folds the overlay into a new run once it grows past a share of the run.

import { IndexRun, type IndexEntry } from "./index-run.js";
import type { JobStatus } from "./types.js";

export type { IndexEntry };

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

export function blankEntry(): IndexEntry {
  return { num: 0, start: 0, end: null, status: 0, off: 0, len: 0 };
}

/** Binary search in ascending `a[0..n)`: the count of elements below `x` (`upper`: at or below). */
function bound(a: Int32Array, n: number, x: number, upper: boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x || (upper && a[mid] === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class JobIndex {
  run: IndexRun;
  /** The overlay, ascending by job number. `base`: the run position of the job when `inRun`,
   *  else the count of run entries below it. A DELETED entry not in the run is a tombstone
   *  (kept so a compaction running meanwhile learns of the removal). */
  private n = 0;
  private oNum = new Float64Array(16);
  private oStart = new Float64Array(16);
  private oEnd = new Float64Array(16);
  private oOff = new Float64Array(16);
  private oLen = new Uint32Array(16);
  private oStatus = new Uint8Array(16);
  private oInRun = new Uint8Array(16);
  private oBase = new Int32Array(16);
  private oVersion = new Float64Array(16);
  private version = 0;
  // Derived from the overlay when it changes: inserted jobs (overlay index, run lower bound) and
  // deleted run positions, each ascending.
  private dirty = false;
  private ins = new Int32Array(0);
  private insLb = new Int32Array(0);
  private nIns = 0;
  private del = new Int32Array(0);
  private nDel = 0;

  constructor(run: IndexRun = IndexRun.empty()) {
    this.run = run;
  }

  /** The current change counter: overlay entries changed later have a higher version. */
  get changeVersion(): number {
    return this.version;
  }

  get overlaySize(): number {
    return this.n;
  }

  get count(): number {
    this.derive();
    return this.run.count - this.nDel + this.nIns;
  }

  // ---- the overlay ----

  /** Overlay index of `num`, or -(insertion point) - 1. */
  private ofind(num: number): number {
    const a = this.oNum;
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
    const cap = this.oNum.length * 2;
    const f = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a.subarray(0, this.n));
      return b;
    };
    this.oNum = f(this.oNum);
    this.oStart = f(this.oStart);
    this.oEnd = f(this.oEnd);
    this.oOff = f(this.oOff);
    this.oVersion = f(this.oVersion);
    const u32 = new Uint32Array(cap);
    u32.set(this.oLen.subarray(0, this.n));
    this.oLen = u32;
    const s = new Uint8Array(cap);
    s.set(this.oStatus.subarray(0, this.n));
    this.oStatus = s;
    const r = new Uint8Array(cap);
    r.set(this.oInRun.subarray(0, this.n));
    this.oInRun = r;
    const b = new Int32Array(cap);
    b.set(this.oBase.subarray(0, this.n));
    this.oBase = b;
  }

  /** Opens a slot at overlay index `at` for job `num` (placed against the run). */
  private insertSlot(at: number, num: number): void {
    if (this.n === this.oNum.length) this.grow();
    if (at < this.n) {
      for (const a of [this.oNum, this.oStart, this.oEnd, this.oOff, this.oVersion, this.oLen, this.oStatus, this.oInRun, this.oBase]) a.copyWithin(at + 1, at, this.n);
    }
    this.n += 1;
    const lb = this.run.lowerBound(num);
    this.oNum[at] = num;
    this.oInRun[at] = lb < this.run.count && this.run.numAt(lb) === num ? 1 : 0;
    this.oBase[at] = lb;
    this.dirty = true;
  }

  private setSlot(i: number, e: IndexEntry, version: number): void {
    if ((this.oStatus[i] === DELETED) !== (e.status === DELETED)) this.dirty = true;
    this.oStart[i] = e.start;
    this.oEnd[i] = e.end === null ? Number.NaN : e.end;
    this.oOff[i] = e.off;
    this.oLen[i] = e.len;
    this.oStatus[i] = e.status;
    this.oVersion[i] = version;
  }

  private readSlot(i: number, into: IndexEntry): IndexEntry {
    into.num = this.oNum[i]!;
    into.start = this.oStart[i]!;
    const end = this.oEnd[i]!;
    into.end = Number.isNaN(end) ? null : end;
    into.off = this.oOff[i]!;
    into.len = this.oLen[i]!;
    into.status = this.oStatus[i]!;
    return into;
  }

  private derive(): void {
    if (!this.dirty) return;
    this.dirty = false;
    if (this.ins.length < this.n) {
      this.ins = new Int32Array(this.oNum.length);
      this.insLb = new Int32Array(this.oNum.length);
      this.del = new Int32Array(this.oNum.length);
    }
    let ni = 0;
    let nd = 0;
    for (let i = 0; i < this.n; i++) {
      const deleted = this.oStatus[i] === DELETED;
      if (this.oInRun[i]) {
        if (deleted) this.del[nd++] = this.oBase[i]!;
      } else if (!deleted) {
        this.ins[ni] = i;
        this.insLb[ni++] = this.oBase[i]!;
      }
    }
    this.nIns = ni;
    this.nDel = nd;
  }

  // ---- positions ----

  /** Deleted run positions below `b`. */
  private delBelow(b: number): number {
    return this.nDel === 0 ? 0 : bound(this.del, this.nDel, b, false);
  }

  /** Position of inserted job `j` (j-th insert). */
  private insPos(j: number): number {
    const lb = this.insLb[j]!;
    return j + lb - this.delBelow(lb);
  }

  /** Position of run entry `b` (not deleted). */
  private runPos(b: number): number {
    return b - this.delBelow(b) + (this.nIns === 0 ? 0 : bound(this.insLb, this.nIns, b, true));
  }

  /** What is at `pos`: a run position (>= 0) or an overlay index i as -i - 1. */
  private resolve(pos: number): number {
    this.derive();
    // The last insert at or before pos.
    let lo = 0;
    let hi = this.nIns - 1;
    let j = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.insPos(mid) <= pos) {
        j = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (j >= 0 && this.insPos(j) === pos) return -this.ins[j]! - 1;
    const r = pos - (j + 1); // among the run's live entries
    // The r-th live run position: r plus the deletions before it (del[k] - k live entries precede del[k]).
    let a = 0;
    let z = this.nDel;
    while (a < z) {
      const mid = (a + z) >> 1;
      if (this.del[mid]! - mid <= r) a = mid + 1;
      else z = mid;
    }
    return r + a;
  }

  /** Position of job `num`, or -1. */
  find(num: number): number {
    this.derive();
    const i = this.ofind(num);
    if (i >= 0) {
      if (this.oStatus[i] === DELETED) return -1;
      if (this.oInRun[i]) return this.runPos(this.oBase[i]!);
      let lo = 0;
      let hi = this.nIns - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const v = this.oNum[this.ins[mid]!]!;
        if (v === num) return this.insPos(mid);
        if (v < num) lo = mid + 1;
        else hi = mid - 1;
      }
      return -1;
    }
    const b = this.run.find(num);
    return b < 0 ? -1 : this.runPos(b);
  }

  /** Reads the entry at `pos` (0 <= pos < count) into `into`. */
  read(pos: number, into: IndexEntry = blankEntry()): IndexEntry {
    const r = this.resolve(pos);
    if (r < 0) return this.readSlot(-r - 1, into);
    this.run.read(r, into);
    if (this.n > 0) {
      const i = this.ofind(into.num);
      if (i >= 0) this.readSlot(i, into);
    }
    return into;
  }

  numAt(pos: number): number {
    const r = this.resolve(pos);
    return r < 0 ? this.oNum[-r - 1]! : this.run.numAt(r);
  }

  /** Position of run entry `b`, which must not be deleted (see `shadowed`). */
  positionOfRun(b: number): number {
    this.derive();
    return this.runPos(b);
  }

  /** The overlay has an entry for `num` (the run's entry for it is replaced or deleted). */
  shadowed(num: number): boolean {
    return this.n > 0 && this.ofind(num) >= 0;
  }

  /** Visits the overlay's live entries (inserted and replaced jobs), ascending. */
  forEachOverlay(visit: (e: IndexEntry) => void): void {
    const e = blankEntry();
    for (let i = 0; i < this.n; i++) if (this.oStatus[i] !== DELETED) visit(this.readSlot(i, e));
  }

  // ---- changes ----

  /** Inserts or replaces job `e.num`. */
  upsert(e: IndexEntry): void {
    let i = this.ofind(e.num);
    if (i < 0) {
      i = -i - 1;
      this.insertSlot(i, e.num);
      this.oStatus[i] = e.status; // a fresh slot: the kind is set by the entry
    }
    this.setSlot(i, e, ++this.version);
  }

  /** Where job `num`'s body now lives (after a compaction wrote it); no version change. */
  setLocation(num: number, off: number, len: number): void {
    const i = this.ofind(num);
    if (i < 0) return;
    this.oOff[i] = off;
    this.oLen[i] = len;
  }

  /** Removes the jobs in `nums` that exist. */
  remove(nums: Iterable<number>): void {
    for (const num of nums) {
      let i = this.ofind(num);
      if (i >= 0 && this.oStatus[i] === DELETED) continue;
      if (i < 0) {
        if (this.run.find(num) < 0) continue;
        i = -i - 1;
        this.insertSlot(i, num);
      }
      this.setSlot(i, { num, start: 0, end: null, status: DELETED, off: 0, len: 0 }, ++this.version);
      this.dirty = true;
    }
  }

  /** Forgets every job: the run is set aside and the overlay emptied. */
  clear(): void {
    this.run = IndexRun.empty();
    this.n = 0;
    this.nIns = 0;
    this.nDel = 0;
    this.dirty = false;
    this.version += 1;
  }

  /** A frozen copy (the run is shared: it never changes), for a compaction to walk. */
  clone(): JobIndex {
    const c = new JobIndex(this.run);
    c.n = this.n;
    c.oNum = this.oNum.slice(0, Math.max(16, this.n));
    c.oStart = this.oStart.slice(0, c.oNum.length);
    c.oEnd = this.oEnd.slice(0, c.oNum.length);
    c.oOff = this.oOff.slice(0, c.oNum.length);
    c.oLen = this.oLen.slice(0, c.oNum.length);
    c.oStatus = this.oStatus.slice(0, c.oNum.length);
    c.oInRun = this.oInRun.slice(0, c.oNum.length);
    c.oBase = this.oBase.slice(0, c.oNum.length);
    c.oVersion = this.oVersion.slice(0, c.oNum.length);
    c.version = this.version;
    c.dirty = true;
    return c;
  }

  /**
   * Moves onto a new run that holds every change up to version `upTo`: overlay entries changed
   * later (and `keep` ones, e.g. running jobs left out of the run) are placed against it again.
   */
  rebase(run: IndexRun, upTo: number, keep: (num: number) => boolean): void {
    const old = { n: this.n, num: this.oNum, start: this.oStart, end: this.oEnd, off: this.oOff, len: this.oLen, status: this.oStatus, version: this.oVersion };
    this.run = run;
    this.n = 0;
    this.oNum = new Float64Array(16);
    this.oStart = new Float64Array(16);
    this.oEnd = new Float64Array(16);
    this.oOff = new Float64Array(16);
    this.oLen = new Uint32Array(16);
    this.oStatus = new Uint8Array(16);
    this.oInRun = new Uint8Array(16);
    this.oBase = new Int32Array(16);
    this.oVersion = new Float64Array(16);
    const e = blankEntry();
    for (let i = 0; i < old.n; i++) {
      const num = old.num[i]!;
      if (!(old.version[i]! > upTo || keep(num))) continue;
      e.num = num;
      e.start = old.start[i]!;
      e.end = Number.isNaN(old.end[i]!) ? null : old.end[i]!;
      e.off = old.off[i]!;
      e.len = old.len[i]!;
      e.status = old.status[i]!;
      if (e.status === DELETED && run.find(num) < 0) continue;
      this.insertSlot(this.n, num);
      this.oStatus[this.n - 1] = e.status;
      this.setSlot(this.n - 1, e, old.version[i]!);
    }
    this.dirty = true;
  }

  /** Appends entries loaded from a file's unsorted part (ascending, unique, applied: the last
   *  entry of each job); only at load, before anything else changed. */
  loadOverlay(e: IndexEntry): void {
    if (e.status === DELETED && this.run.find(e.num) < 0) return;
    this.insertSlot(this.n, e.num);
    this.oStatus[this.n - 1] = e.status;
    this.setSlot(this.n - 1, e, 0);
  }

  /**
   * Visits positions from `from` on (downwards when `desc`), in order, until `visit` returns
   * false. `e` is reused between calls. One pass over the run's pages: a full scan reads each once.
   */
  forEach(from: number, desc: boolean, visit: (pos: number, e: IndexEntry) => boolean): void {
    const count = this.count;
    if (from < 0 || from >= count) return;
    const e = blankEntry();
    const r = this.resolve(from);
    const nRun = this.run.count;
    let b: number;
    let j: number;
    if (r < 0) {
      const i = -r - 1;
      j = bound(this.ins, this.nIns, i, false); // overlay indices ascend with the insert order
      b = desc ? this.insLb[j]! - 1 : this.insLb[j]!;
    } else {
      b = r;
      const upTo = this.nIns === 0 ? 0 : bound(this.insLb, this.nIns, r, true);
      j = desc ? upTo - 1 : upTo;
    }
    let k = desc ? this.delBelow(b + 1) - 1 : this.delBelow(b); // next deletion to meet
    let o = -1; // overlay pointer for replacements, moved with the run's numbers
    let pos = from;
    for (;;) {
      if (desc ? pos < 0 : pos >= count) return;
      const takeIns = desc ? j >= 0 && this.insLb[j]! > b : j < this.nIns && this.insLb[j]! <= b;
      if (takeIns) {
        this.readSlot(this.ins[j]!, e);
        j += desc ? -1 : 1;
      } else {
        if (b < 0 || b >= nRun) return;
        if (desc) {
          while (k >= 0 && this.del[k]! > b) k--;
          if (k >= 0 && this.del[k] === b) {
            b--;
            continue;
          }
        } else {
          while (k < this.nDel && this.del[k]! < b) k++;
          if (k < this.nDel && this.del[k] === b) {
            b++;
            continue;
          }
        }
        this.run.read(b, e);
        if (this.n > 0) {
          if (o < 0) {
            const i = this.ofind(e.num);
            o = i >= 0 ? i : Math.min(-i - 1, this.n - 1);
          } else if (desc) while (o > 0 && this.oNum[o]! > e.num) o--;
          else while (o < this.n - 1 && this.oNum[o]! < e.num) o++;
          if (this.oNum[o] === e.num && this.oInRun[o]) this.readSlot(o, e);
        }
        b += desc ? -1 : 1;
      }
      if (!visit(pos, e)) return;
      pos += desc ? -1 : 1;
    }
  }
}
