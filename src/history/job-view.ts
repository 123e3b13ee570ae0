// Reading the paged history: list selection over the index (Moonraker's SQL semantics, no body
// read), and a read-only array view whose elements are read from disk when used.

import { blankEntry, type JobIndex } from "./job-index.js";
import { PAGE_ENTRIES } from "./index-run.js";
import type { PagedHistory } from "./paged-history.js";
import type { JobRecord } from "./types.js";

export interface ListQuery {
  limit: number;
  start: number;
  before: number;
  since: number;
  order: "ASC" | "DESC";
}

/** Index positions a list query selects: `limit <= 0` is all, `start` skips, before/since are strict. */
export function selectPositions(index: JobIndex, q: ListQuery): number[] {
  const n = index.count;
  const paged = q.limit > 0;
  const skip = paged ? Math.max(0, q.start) : 0;
  const want = paged ? q.limit : Infinity;
  const out: number[] = [];
  const desc = q.order === "DESC";
  if (q.before === -1 && q.since === -1) {
    for (let k = skip; k < n && out.length < want; k++) out.push(desc ? n - 1 - k : k);
    return out;
  }
  return selectFiltered(index, q, skip, want, desc);
}

/**
 * A filtered selection: the run's pages whose fence rules out a match (every start at or before
 * `since`, or no end before `before`) are not read, so an old `since` costs a few pages, not the
 * whole history; the overlay's entries are merged in by job number.
 */
function selectFiltered(index: JobIndex, q: ListQuery, skip: number, want: number, desc: boolean): number[] {
  const matches = (start: number, end: number | null) => (q.before === -1 || (end !== null && end < q.before)) && (q.since === -1 || start > q.since);
  const extra: number[] = []; // overlay matches, ascending by job number
  index.forEachOverlay((e) => {
    if (matches(e.start, e.end)) extra.push(e.num);
  });
  if (desc) extra.reverse();
  const out: number[] = [];
  let skipped = 0;
  let x = 0;
  /** Takes a match in order; false once enough are taken. */
  const take = (pos: number): boolean => {
    if (skipped < skip) skipped += 1;
    else out.push(pos);
    return out.length < want;
  };
  const takeExtraBefore = (num: number): boolean => {
    while (x < extra.length && (desc ? extra[x]! > num : extra[x]! < num)) if (!take(index.find(extra[x++]!))) return false;
    return true;
  };
  const run = index.run;
  const e = blankEntry();
  const pages = run.pages;
  for (let k = 0; k < pages; k++) {
    const p = desc ? pages - 1 - k : k;
    if (q.before !== -1 && !(run.minEnd[p]! < q.before)) continue;
    if (q.since !== -1 && !(run.maxStart[p]! > q.since)) continue;
    const first = p * PAGE_ENTRIES;
    const last = Math.min(run.count, first + PAGE_ENTRIES) - 1;
    for (let b = desc ? last : first; desc ? b >= first : b <= last; b += desc ? -1 : 1) {
      run.read(b, e);
      if (!matches(e.start, e.end) || index.shadowed(e.num)) continue;
      if (!takeExtraBefore(e.num) || !take(index.positionOfRun(b))) return out;
    }
  }
  takeExtraBefore(desc ? -Infinity : Infinity);
  return out;
}

/** The position of the first job numbered above `num` (where a scan stopped at `num` goes on). */
export function nextPosition(index: JobIndex, num: number): number {
  const pos = index.find(num);
  if (pos !== -1) return pos + 1;
  // `num` was removed meanwhile: count the jobs below it.
  let lo = 0;
  let hi = index.count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (index.numAt(mid) < num) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A read-only array of every job, ascending, without holding them: `length` is the index's
 * count and `jobs[i]` reads job i's body. Array methods work on it (one body at a time).
 */
export function jobView(h: PagedHistory): readonly JobRecord[] {
  const readOnly = () => {
    throw new TypeError("the job list is read-only");
  };
  return new Proxy([] as JobRecord[], {
    get(target, prop, receiver) {
      if (prop === "length") return h.count;
      if (typeof prop === "string") {
        const c = prop.charCodeAt(0);
        if (c >= 48 && c <= 57) {
          const i = Number(prop);
          return Number.isInteger(i) && i < h.count ? h.bodyAt(i) : undefined;
        }
      }
      return Reflect.get(target, prop, receiver);
    },
    has(target, prop) {
      if (typeof prop === "string" && /^\d+$/.test(prop)) return Number(prop) < h.count;
      return Reflect.has(target, prop);
    },
    getOwnPropertyDescriptor(target, prop) {
      if (prop === "length") return { value: h.count, writable: true, enumerable: false, configurable: false };
      if (typeof prop === "string" && /^\d+$/.test(prop) && Number(prop) < h.count) {
        return { value: h.bodyAt(Number(prop)), writable: false, enumerable: true, configurable: true };
      }
      return Reflect.getOwnPropertyDescriptor(target, prop);
    },
    ownKeys() {
      return [...Array.from({ length: h.count }, (_, i) => String(i)), "length"];
    },
    set: readOnly,
    deleteProperty: readOnly,
    defineProperty: readOnly,
  });
}
