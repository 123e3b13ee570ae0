// The history as held by the store: totals, settings and the job index in memory; job bodies on
// disk, except the few changed since the last compaction (and the running job), which are kept
// in memory until a compaction writes them. Implements the fold's model and the compaction.

import { readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { JobFiles, bodyLine, encodeEntry, indexFileName, jobsFileName, jobsHeader, ENTRY_BYTES, type FilesState } from "./job-files.js";
import { DELETED, JobIndex, STATUS_CODES, statusCode } from "./job-index.js";
import { initialHistoryState, type HistoryModel, type HistoryState } from "./state.js";
import { parseJobId, zeroTotals, type AuxTotal, type JobRecord, type JobStatus, type JobTotals } from "./types.js";
import type { Capture } from "./durable-log.js";
import { HistoryError } from "./errors.js";

/** The compacted document's `state` (format 2). */
export interface HistoryDocument {
  nextJobNumber: number;
  totals: JobTotals;
  auxTotals: AuxTotal[];
  settings: Record<string, unknown>;
  /** Jobs still running at compaction time: their bodies change too often for the job files. */
  open: JobRecord[];
  files: FilesState | null;
  /** Bytes of job files no longer referenced (replaced or deleted bodies), for the rewrite decision. */
  deadBytes: number;
}

/** A job file generation is rewritten once this share of it is dead (and it is large enough to matter). */
const REWRITE_DEAD_RATIO = 0.5;
const REWRITE_MIN_BYTES = 4 * 1024 * 1024;
/** Parsed bodies kept for re-reads: a few hundred KB of heap. */
const CACHE_JOBS = 256;

export class PagedHistory implements HistoryModel {
  nextJobNumber = 1;
  totals: JobTotals = zeroTotals();
  auxTotals: AuxTotal[] = [];
  settings: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  readonly index = new JobIndex();
  /** Bodies changed since the last compaction, by job number, with a change counter. */
  readonly tail = new Map<number, { job: JobRecord; version: number }>();
  /** Jobs removed since the last compaction (the job files may still hold them). */
  readonly removed = new Set<number>();
  cleared = false;
  files: JobFiles | null = null;
  deadBytes = 0;
  private version = 0;
  /** Bodies read recently (clients re-read the newest page): parsed once, bounded. Read-only. */
  private readonly cache = new Map<number, JobRecord>();
  /** Problems found reading the job files (reported, not served). */
  readonly rot: string[] = [];

  constructor(
    readonly dir: string,
    private readonly readOnly: boolean,
  ) {}

  static async load(dir: string, doc: unknown | null, format: 1 | 2, readOnly: boolean): Promise<PagedHistory> {
    const h = new PagedHistory(dir, readOnly);
    if (doc === null) return h;
    if (format === 1) {
      // A format-1 document: every job in memory once; the migrating compaction writes them out.
      const v1 = { ...initialHistoryState(), ...(doc as Partial<HistoryState>) };
      h.nextJobNumber = v1.nextJobNumber;
      h.totals = { ...zeroTotals(), ...v1.totals };
      h.auxTotals = v1.auxTotals ?? [];
      for (const [k, v] of Object.entries(v1.settings ?? {})) h.setSetting(k, v);
      for (const job of v1.jobs ?? []) h.insert(job);
      return h;
    }
    const d = doc as HistoryDocument;
    h.nextJobNumber = d.nextJobNumber;
    h.totals = d.totals;
    h.auxTotals = d.auxTotals;
    for (const [k, v] of Object.entries(d.settings ?? {})) h.setSetting(k, v);
    h.deadBytes = d.deadBytes ?? 0;
    if (d.files) {
      h.files = JobFiles.open(dir, d.files, readOnly);
      h.files.loadIndex(h.index, (m) => h.rot.push(m));
      // Generations the document no longer names: a rewrite that stopped before its clean-up.
      if (!readOnly) {
        const keep = new Set([jobsFileName(d.files.gen), indexFileName(d.files.gen)]);
        for (const f of await readdir(dir).catch(() => [] as string[])) {
          if (/^history-(jobs|index)\.\d+\.(jsonl|bin)$/.test(f) && !keep.has(f)) await unlink(join(dir, f)).catch(() => undefined);
        }
      }
    }
    for (const job of d.open ?? []) h.insert(job);
    return h;
  }

  setSetting(key: string, value: unknown): void {
    Object.defineProperty(this.settings, key, { value, enumerable: true, writable: true, configurable: true });
  }

  get count(): number {
    return this.index.count;
  }

  /** Reads a job without keeping it (the API's reads). */
  get(num: number): JobRecord | undefined {
    const t = this.tail.get(num);
    if (t) return t.job;
    const pos = this.index.find(num);
    return pos === -1 ? undefined : this.bodyAt(pos);
  }

  /** The body of the job at index position `pos`. */
  bodyAt(pos: number): JobRecord {
    const off = this.index.off[pos]!;
    const num = this.index.nums[pos]!;
    if (off < 0) return this.tail.get(num)!.job;
    const cached = this.cache.get(num);
    if (cached) {
      this.cache.delete(num); // most recently used last
      this.cache.set(num, cached);
      return cached;
    }
    if (!this.files) throw new HistoryError("snapshot_corrupt", `job ${num} has no job file`);
    const job = this.files.readBody(off, this.index.len[pos]!);
    this.cache.set(num, job);
    if (this.cache.size > CACHE_JOBS) this.cache.delete(this.cache.keys().next().value!);
    return job;
  }

  statusAt(pos: number): JobStatus {
    return STATUS_CODES[this.index.status[pos]!] ?? "interrupted";
  }

  // ---- the fold's model ----

  find(num: number): JobRecord | undefined {
    const t = this.tail.get(num);
    if (t) return t.job;
    const pos = this.index.find(num);
    if (pos === -1) return undefined;
    const job = this.bodyAt(pos);
    this.cache.delete(num); // about to change: it lives in the tail now
    this.tail.set(num, { job, version: ++this.version });
    return job;
  }

  touch(job: JobRecord): void {
    const num = parseJobId(job.job_id)!;
    this.cache.delete(num);
    const dead = this.deadOf(num);
    this.tail.set(num, { job, version: ++this.version });
    this.index.upsert({ num, start: job.start_time, end: job.end_time, status: statusCode(job.status), off: -1, len: 0 });
    this.deadBytes += dead;
  }

  insert(job: JobRecord): void {
    const num = parseJobId(job.job_id)!;
    if (num > 0xffffffff) throw new HistoryError("storage_failed", `job id ${job.job_id} is larger than FFFFFFFF`);
    this.touch(job);
  }

  remove(nums: ReadonlySet<number>): void {
    for (const num of nums) {
      if (this.index.find(num) === -1) continue;
      this.deadBytes += this.deadOf(num);
      this.tail.delete(num);
      this.cache.delete(num);
      this.removed.add(num);
    }
    this.index.remove(nums);
  }

  clear(): void {
    this.index.clear();
    this.cache.clear();
    this.tail.clear();
    this.removed.clear();
    this.cleared = true;
  }

  /** Bytes of the job file that job `num`'s current body occupies (dead once it is replaced). */
  private deadOf(num: number): number {
    const pos = this.index.find(num);
    return pos !== -1 && this.index.off[pos]! >= 0 ? this.index.len[pos]! : 0;
  }

  // ---- compaction ----

  /**
   * Captures what a compaction writes: the bodies changed since the last one are appended to the
   * job files (or, when half the files are dead or the history was cleared, every live body is
   * copied into a new generation). Synchronous; the returned `write` does the I/O.
   */
  capture(): Capture {
    const openJobs: JobRecord[] = [];
    const written: { num: number; version: number; off: number; len: number }[] = [];
    const bodies: Buffer[] = [];
    const rewrite = this.cleared || !this.files || (this.files.jobsBytes > REWRITE_MIN_BYTES && this.deadBytes > this.files.jobsBytes * REWRITE_DEAD_RATIO);
    const gen = rewrite ? (this.files?.gen ?? 0) + 1 : this.files!.gen;
    let at = rewrite ? Buffer.byteLength(jobsHeader()) : this.files!.jobsBytes;
    const copies: { num: number; from: number; len: number; to: number }[] = [];
    const index = this.index;
    if (rewrite && this.files && !this.cleared) {
      // Every live body already on disk moves to the new generation, copied unparsed.
      for (let pos = 0; pos < index.count; pos++) {
        const off = index.off[pos]!;
        if (off < 0) continue;
        copies.push({ num: index.nums[pos]!, from: off, len: index.len[pos]!, to: at });
        at += index.len[pos]!;
      }
    }
    for (const [num, { job, version }] of this.tail) {
      if (job.status === "in_progress") {
        openJobs.push(job);
        continue;
      }
      const line = Buffer.from(bodyLine(job));
      bodies.push(line);
      written.push({ num, version, off: at, len: line.length });
      at += line.length;
    }
    const removed = rewrite ? [] : [...this.removed];
    const entries = Buffer.allocUnsafe(ENTRY_BYTES * (copies.length + written.length + removed.length));
    let e = 0;
    for (const c of copies) {
      const pos = index.find(c.num);
      encodeEntry({ num: c.num, start: index.start[pos]!, end: index.endAt(pos), status: index.status[pos]!, off: c.to, len: c.len }, entries, e);
      e += ENTRY_BYTES;
    }
    for (const w of written) {
      const job = this.tail.get(w.num)!.job;
      encodeEntry({ num: w.num, start: job.start_time, end: job.end_time, status: statusCode(job.status), off: w.off, len: w.len }, entries, e);
      e += ENTRY_BYTES;
    }
    for (const num of removed) {
      encodeEntry({ num, start: 0, end: null, status: DELETED, off: 0, len: 0 }, entries, e);
      e += ENTRY_BYTES;
    }
    const files: FilesState = { gen, jobsBytes: at, indexBytes: (rewrite ? ENTRY_BYTES : this.files!.indexBytes) + entries.length };
    const deadAtCapture = this.deadBytes;
    openJobs.sort((a, b) => parseJobId(a.job_id)! - parseJobId(b.job_id)!);
    const document: HistoryDocument = {
      nextJobNumber: this.nextJobNumber,
      totals: { ...this.totals },
      auxTotals: this.auxTotals.map((t) => ({ ...t })),
      settings: { ...this.settings },
      open: openJobs.map((j) => ({ ...j, timeline: [...j.timeline] })),
      files,
      deadBytes: rewrite ? 0 : deadAtCapture,
    };
    const capturedRemoved = [...this.removed];
    const wasCleared = this.cleared;
    const old = this.files;
    let target: JobFiles | null = null;
    return {
      document,
      write: async () => {
        if (rewrite) {
          await removeGeneration(this.dir, gen); // a leftover of a failed attempt
          target = await JobFiles.create(this.dir, gen);
          await target.copyFrom(old!, copies);
        } else target = old!;
        const copied = rewrite ? copies.reduce((n, c) => n + c.len, 0) : 0;
        const headers = rewrite ? target.jobsBytes + ENTRY_BYTES : 0;
        return (await target.append(Buffer.concat(bodies), entries, copied)) + copied + headers;
      },
      commit: () => {
        const files = target!;
        files.jobsBytes = document.files!.jobsBytes;
        files.indexBytes = document.files!.indexBytes;
        for (const c of copies) {
          const pos = index.find(c.num);
          if (pos !== -1 && index.off[pos]! === c.from) index.off[pos] = c.to;
        }
        for (const w of written) {
          const t = this.tail.get(w.num);
          if (!t || t.version !== w.version) continue; // changed again meanwhile: stays in memory
          this.tail.delete(w.num);
          const pos = index.find(w.num);
          if (pos !== -1) {
            index.off[pos] = w.off;
            index.len[pos] = w.len;
          }
        }
        for (const n of capturedRemoved) this.removed.delete(n);
        if (wasCleared) this.cleared = false;
        if (rewrite) this.deadBytes -= deadAtCapture;
        if (rewrite && old) old.close();
        this.files = files;
      },
      // The document no longer names the old generation: its files can go.
      cleanup: async () => {
        if (rewrite && old) await old.remove();
      },
      abort: () => {
        if (rewrite && target && target !== old) {
          target.close();
          void target.remove();
        }
      },
    };
  }

  dispose(): void {
    this.files?.close();
    this.files = null;
  }
}

async function removeGeneration(dir: string, gen: number): Promise<void> {
  await unlink(join(dir, jobsFileName(gen))).catch(() => undefined);
  await unlink(join(dir, indexFileName(gen))).catch(() => undefined);
}
