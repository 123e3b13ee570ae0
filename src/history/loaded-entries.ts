// Index entries read after a file's sorted run, in file order: sorted once by job number (the
// last entry of a job wins, as it was appended last) and handed to the index's overlay.

import { blankEntry, type JobIndex } from "./job-index.js";

export class LoadedEntries {
  private n = 0;
  private num = new Float64Array(64);
  private start = new Float64Array(64);
  private end = new Float64Array(64);
  private off = new Float64Array(64);
  private len = new Uint32Array(64);
  private status = new Uint8Array(64);

  push(num: number, start: number, end: number, status: number, off: number, len: number): void {
    if (this.n === this.num.length) {
      const cap = this.n * 2;
      const f = (a: Float64Array) => {
        const b = new Float64Array(cap);
        b.set(a);
        return b;
      };
      this.num = f(this.num);
      this.start = f(this.start);
      this.end = f(this.end);
      this.off = f(this.off);
      const l = new Uint32Array(cap);
      l.set(this.len);
      this.len = l;
      const s = new Uint8Array(cap);
      s.set(this.status);
      this.status = s;
    }
    const i = this.n++;
    this.num[i] = num;
    this.start[i] = start;
    this.end[i] = end;
    this.off[i] = off;
    this.len[i] = len;
    this.status[i] = status;
  }

  applyTo(index: JobIndex): void {
    if (this.n === 0) return;
    const order = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) order[i] = i;
    const num = this.num;
    order.sort((a, b) => num[a]! - num[b]! || a - b);
    const e = blankEntry();
    for (let k = 0; k < this.n; k++) {
      const i = order[k]!;
      if (k + 1 < this.n && num[order[k + 1]!] === num[i]) continue; // a later entry replaces it
      e.num = num[i]!;
      e.start = this.start[i]!;
      e.end = Number.isNaN(this.end[i]!) ? null : this.end[i]!;
      e.off = this.off[i]!;
      e.len = this.len[i]!;
      e.status = this.status[i]!;
      index.loadOverlay(e);
    }
  }
}
