// The index of every job, in job-number order, addressed by position: a sorted run on disk
// (index-run.ts) merged with a small in-memory overlay of what changed since the run was written
// (new jobs, replaced entries, deletions). Memory grows with the overlay, never with the history;
// compaction folds the overlay into a new run once it grows past a share of the run.

import { DELETED, IndexRun, type IndexEntry } from "./index-run.js";
import { IndexOverlay } from "./index-overlay.js";
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
export { DELETED };
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
  /** What changed since the run was written. */
  private o = new IndexOverlay();
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
    return this.o.n;
  }

  get count(): number {
    this.derive();
    return this.run.count - this.nDel + this.nIns;
  }

  private derive(): void {
    if (!this.dirty) return;
    this.dirty = false;
    if (this.ins.length < this.o.n) {
      this.ins = new Int32Array(this.o.num.length);
      this.insLb = new Int32Array(this.o.num.length);
      this.del = new Int32Array(this.o.num.length);
    }
    let ni = 0;
    let nd = 0;
    for (let i = 0; i < this.o.n; i++) {
      const deleted = this.o.status[i] === DELETED;
      if (this.o.inRun[i]) {
        if (deleted) this.del[nd++] = this.o.base[i]!;
      } else if (!deleted) {
        this.ins[ni] = i;
        this.insLb[ni++] = this.o.base[i]!;
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
    const i = this.o.find(num);
    if (i >= 0) {
      if (this.o.status[i] === DELETED) return -1;
      if (this.o.inRun[i]) return this.runPos(this.o.base[i]!);
      let lo = 0;
      let hi = this.nIns - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const v = this.o.num[this.ins[mid]!]!;
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
    if (r < 0) return this.o.read(-r - 1, into);
    this.run.read(r, into);
    if (this.o.n > 0) {
      const i = this.o.find(into.num);
      if (i >= 0) this.o.read(i, into);
    }
    return into;
  }

  numAt(pos: number): number {
    const r = this.resolve(pos);
    return r < 0 ? this.o.num[-r - 1]! : this.run.numAt(r);
  }

  /** Position of run entry `b`, which must not be deleted (see `shadowed`). */
  positionOfRun(b: number): number {
    this.derive();
    return this.runPos(b);
  }

  /** The overlay has an entry for `num` (the run's entry for it is replaced or deleted). */
  shadowed(num: number): boolean {
    return this.o.n > 0 && this.o.find(num) >= 0;
  }

  /** Visits the overlay's live entries (inserted and replaced jobs), ascending. */
  forEachOverlay(visit: (e: IndexEntry) => void): void {
    const e = blankEntry();
    for (let i = 0; i < this.o.n; i++) if (this.o.status[i] !== DELETED) visit(this.o.read(i, e));
  }

  // ---- changes ----

  /** Inserts or replaces job `e.num`. */
  upsert(e: IndexEntry): void {
    let i = this.o.find(e.num);
    if (i < 0) {
      i = -i - 1;
      this.o.insert(i, e.num, this.run);
      this.o.status[i] = e.status; // a fresh slot: the kind is set by the entry
      this.dirty = true;
    }
    if (this.o.set(i, e, ++this.version)) this.dirty = true;
  }

  /** Where job `num`'s body now lives (after a compaction wrote it); no version change. */
  setLocation(num: number, off: number, len: number): void {
    const i = this.o.find(num);
    if (i < 0) return;
    this.o.off[i] = off;
    this.o.len[i] = len;
  }

  /** Removes the jobs in `nums` that exist. */
  remove(nums: Iterable<number>): void {
    for (const num of nums) {
      let i = this.o.find(num);
      if (i >= 0 && this.o.status[i] === DELETED) continue;
      if (i < 0) {
        if (this.run.find(num) < 0) continue;
        i = -i - 1;
        this.o.insert(i, num, this.run);
      }
      this.o.set(i, { num, start: 0, end: null, status: DELETED, off: 0, len: 0 }, ++this.version);
      this.dirty = true;
    }
  }

  /** Forgets every job: the run is set aside and the overlay emptied. */
  clear(): void {
    this.run = IndexRun.empty();
    this.o = new IndexOverlay();
    this.nIns = 0;
    this.nDel = 0;
    this.dirty = false;
    this.version += 1;
  }

  /** A frozen copy (the run is shared: it never changes), for a compaction to walk. */
  clone(): JobIndex {
    const c = new JobIndex(this.run);
    c.o = this.o.clone();
    c.version = this.version;
    c.dirty = true;
    return c;
  }

  /**
   * Moves onto a new run that holds every change up to version `upTo`: overlay entries changed
   * later (and `keep` ones, e.g. running jobs left out of the run) are placed against it again.
   */
  rebase(run: IndexRun, upTo: number, keep: (num: number) => boolean): void {
    const old = this.o;
    this.run = run;
    this.o = new IndexOverlay();
    const e = blankEntry();
    for (let i = 0; i < old.n; i++) {
      const num = old.num[i]!;
      if (!(old.version[i]! > upTo || keep(num))) continue;
      this.appendSlot(old.read(i, e), old.version[i]!);
    }
    this.dirty = true;
  }

  /** Adds `e` after the overlay's last entry (its number is above theirs); a deletion of a job
   *  the run does not hold has nothing to delete and is left out. */
  private appendSlot(e: IndexEntry, version: number): void {
    if (e.status === DELETED && this.run.find(e.num) < 0) return;
    this.o.insert(this.o.n, e.num, this.run);
    this.o.status[this.o.n - 1] = e.status;
    this.o.set(this.o.n - 1, e, version);
    this.dirty = true;
  }

  /** Appends entries loaded from a file's unsorted part (ascending, unique, applied: the last
   *  entry of each job); only at load, before anything else changed. */
  loadOverlay(e: IndexEntry): void {
    this.appendSlot(e, 0);
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
        this.o.read(this.ins[j]!, e);
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
        if (this.o.n > 0) {
          if (o < 0) {
            const i = this.o.find(e.num);
            o = i >= 0 ? i : Math.min(-i - 1, this.o.n - 1);
          } else if (desc) while (o > 0 && this.o.num[o]! > e.num) o--;
          else while (o < this.o.n - 1 && this.o.num[o]! < e.num) o++;
          if (this.o.num[o] === e.num && this.o.inRun[o]) this.o.read(o, e);
        }
        b += desc ? -1 : 1;
      }
      if (!visit(pos, e)) return;
      pos += desc ? -1 : 1;
    }
  }
}
