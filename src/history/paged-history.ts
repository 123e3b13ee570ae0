// The history as held by the store: totals and settings in memory; the job index on disk behind
// a small in-memory overlay (job-index.ts); job bodies on disk, except the few changed since the
// last compaction (and the running job), which are kept in memory until a compaction writes them.
// Implements the fold's model and the compaction.

import { closeSync } from "node:fs";
import { readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { GENERATION_FILE, JobFiles, bodyLine, encodeEntry, indexFileName, jobsFileName, jobsHeader, ENTRY_BYTES, type FilesState, type RunWriter } from "./job-files.js";
import { IndexRun } from "./index-run.js";
import { DELETED, JobIndex, STATUS_CODES, blankEntry, statusCode, type IndexEntry } from "./job-index.js";
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
/** The index is rewritten once its overlay holds more than this many entries or a 64th of the
 *  run: about 50 bytes an entry in memory, and 64 x 48 bytes written a job at most, amortised. */
const OVERLAY_MIN = 2048;
const OVERLAY_SHARE = 64;

export class PagedHistory implements HistoryModel {
  nextJobNumber = 1;
  totals: JobTotals = zeroTotals();
  auxTotals: AuxTotal[] = [];
  settings: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  index = new JobIndex();
  /** Bodies changed since the last compaction, by job number, with a change counter. */
  readonly tail = new Map<number, { job: JobRecord; version: number }>();
  /** Jobs removed since the last compaction (the job files may still hold them). */
  readonly removed = new Set<number>();
  cleared = false;
  files: JobFiles | null = null;
  deadBytes = 0;
  private version = 0;
  private readonly entry = blankEntry();
  overlayMin = OVERLAY_MIN;
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
      h.index = h.files.loadIndex((m) => h.rot.push(m));
      // Generations the document no longer names: a rewrite that stopped before its clean-up.
      if (!readOnly) {
        const keep = new Set([jobsFileName(d.files.gen), indexFileName(d.files.gen, d.files.indexGen)]);
        for (const f of await readdir(dir).catch(() => [] as string[])) {
          if (GENERATION_FILE.test(f) && !keep.has(f)) await unlink(join(dir, f)).catch(() => undefined);
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

  /** Whether job `num` exists (the index alone; the running job is in it too). */
  has(num: number): boolean {
    return this.index.find(num) !== -1;
  }

  /** The body of the job at index position `pos`. */
  bodyAt(pos: number): JobRecord {
    const { off, num, len } = this.index.read(pos, this.entry);
    if (off < 0) return this.tail.get(num)!.job;
    const cached = this.cache.get(num);
    if (cached) {
      this.cache.delete(num); // most recently used last
      this.cache.set(num, cached);
      return cached;
    }
    if (!this.files) throw new HistoryError("snapshot_corrupt", `job ${num} has no job file`);
    const job = this.files.readBody(off, len);
    this.cache.set(num, job);
    if (this.cache.size > CACHE_JOBS) this.cache.delete(this.cache.keys().next().value!);
    return job;
  }

  statusAt(pos: number): JobStatus {
    return STATUS_CODES[this.index.read(pos, this.entry).status] ?? "interrupted";
  }

  /** The index wants folding into a new run (its overlay outgrew a share of the run). */
  get wantsCompaction(): boolean {
    return this.index.overlaySize > Math.max(this.overlayMin, this.index.run.count / OVERLAY_SHARE);
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
    if (pos === -1) return 0;
    const e = this.index.read(pos, this.entry);
    return e.off >= 0 ? e.len : 0;
  }

  // ---- compaction ----

  /**
   * Captures what a compaction writes, in one of three ways:
   * - append: the bodies changed since the last compaction go to the end of the job file, their
   *   index entries (and deletions) to the end of the index file;
   * - index: as append for the bodies, and a new sorted index of every job is written (when the
   *   in-memory overlay outgrew its share), so memory returns to the fence alone;
   * - rewrite: when half the job file is dead or the history was cleared, every live body is
   *   copied into a new generation with its sorted index.
   * Synchronous; the returned `write` does the I/O, walking a frozen copy of the index.
   */
  capture(): Capture {
    const openJobs: JobRecord[] = [];
    const written = new Map<number, { version: number; buf: Buffer; off: number; entry: IndexEntry }>();
    const rewrite = this.cleared || !this.files || (this.files.jobsBytes > REWRITE_MIN_BYTES && this.deadBytes > this.files.jobsBytes * REWRITE_DEAD_RATIO);
    const reindex = !rewrite && this.wantsCompaction;
    const old = this.files;
    const gen = rewrite ? (old?.gen ?? 0) + 1 : old!.gen;
    // In job order: appended after a sorted run, new jobs extend it.
    for (const [num, { job, version }] of [...this.tail].sort((a, b) => a[0] - b[0])) {
      if (job.status === "in_progress") {
        openJobs.push(job);
        continue;
      }
      const buf = Buffer.from(bodyLine(job));
      written.set(num, { version, buf, off: -1, entry: { num, start: job.start_time, end: job.end_time, status: statusCode(job.status), off: -1, len: buf.length } });
    }
    if (!rewrite) {
      // Appended after the job file's committed length, in this order.
      let at = old!.jobsBytes;
      for (const w of written.values()) {
        w.off = w.entry.off = at;
        at += w.buf.length;
      }
    }
    const openNums = new Set(openJobs.map((j) => parseJobId(j.job_id)!));
    const removed = rewrite || reindex ? [] : [...this.removed];
    const frozen = rewrite || reindex ? this.index.clone() : null;
    const upTo = this.index.changeVersion;
    const deadAtCapture = this.deadBytes;
    openJobs.sort((a, b) => parseJobId(a.job_id)! - parseJobId(b.job_id)!);
    const document: HistoryDocument = {
      nextJobNumber: this.nextJobNumber,
      totals: { ...this.totals },
      auxTotals: this.auxTotals.map((t) => ({ ...t })),
      settings: { ...this.settings },
      open: openJobs.map((j) => ({ ...j, timeline: [...j.timeline] })),
      files: null, // set by write()
      deadBytes: rewrite ? 0 : deadAtCapture,
    };
    const capturedRemoved = [...this.removed];
    // An append of new jobs only, to an index file that is one sorted run, keeps it one run:
    // the run grows in memory too, and nothing waits in the overlay for a rewrite.
    const run = this.index.run;
    const entriesAfter = [...written.values()].map((w) => w.entry);
    const extendsRun =
      !rewrite && !reindex && removed.length === 0 && old!.indexBytes === ENTRY_BYTES * (1 + run.count) && entriesAfter.length > 0 && entriesAfter[0]!.num > run.lastNum && entriesAfter.every((e) => e.status !== DELETED);
    const wasCleared = this.cleared;
    let target: JobFiles | null = null;
    let newRun: IndexRun | null = null;
    let newIndex: Awaited<ReturnType<JobFiles["writeIndex"]>> | null = null;

    /** Every live entry of the frozen index, in job order, with the bodies' new places. */
    const fillRun = async (w: RunWriter, place: (e: IndexEntry) => Promise<boolean>): Promise<void> => {
      const idx = frozen!;
      const total = idx.count;
      const batch: IndexEntry[] = [];
      for (let pos = 0; pos < total; pos += batch.length) {
        batch.length = 0;
        idx.forEach(pos, false, (_p, e) => batch.push({ ...e }) < 1024);
        if (batch.length === 0) break;
        for (const e of batch) if (await place(e)) await w.add(e);
      }
    };
    /** A written tail body's place, or false for a running job (kept in the document). */
    const placeTail = (e: IndexEntry): boolean => {
      const w = written.get(e.num);
      if (!w) return false;
      Object.assign(e, w.entry);
      return true;
    };

    return {
      document,
      write: async () => {
        if (rewrite) {
          await removeGeneration(this.dir, gen); // a leftover of a failed attempt
          target = await JobFiles.create(this.dir, gen);
          const t = target;
          let at = t.jobsBytes;
          const chunk: Buffer[] = [];
          let chunkAt = at;
          let chunkBytes = 0;
          const flush = async () => {
            if (chunkBytes > 0) await t.writeBodies(Buffer.concat(chunk), chunkAt);
            chunk.length = 0;
            chunkAt = at;
            chunkBytes = 0;
          };
          // After a clear the frozen index holds only what was recorded since (bodies in memory).
          newRun = await t.fillIndex((w) =>
            fillRun(w, async (e) => {
              let body: Buffer;
              if (e.off < 0) {
                if (!placeTail(e)) return false;
                body = written.get(e.num)!.buf;
              } else body = old!.readRaw(e.off, e.len);
              e.off = at;
              e.len = body.length;
              chunk.push(body);
              chunkBytes += body.length;
              at += body.length;
              if (chunkBytes >= 1024 * 1024) await flush();
              return true;
            }),
          );
          await flush();
          const bytes = await t.append(Buffer.alloc(0), Buffer.alloc(0), at - t.jobsBytes);
          const indexBytes = ENTRY_BYTES * (1 + newRun.count);
          document.files = { gen, jobsBytes: at, indexBytes };
          return bytes + at + indexBytes;
        }
        const files = old!;
        // New and changed bodies go to the end of the job file (places set at capture).
        const bodies = [...written.values()].map((w) => w.buf);
        const at = files.jobsBytes + bodies.reduce((n, b) => n + b.length, 0);
        if (reindex) {
          const n = await files.append(Buffer.concat(bodies), Buffer.alloc(0));
          const indexGen = files.indexGen + 1;
          newIndex = await files.writeIndex(indexGen, (w) => fillRun(w, async (e) => (e.off < 0 ? placeTail(e) : true)));
          newRun = newIndex.run;
          document.files = { gen, jobsBytes: at, indexBytes: newIndex.bytes, indexGen };
          return n + newIndex.bytes;
        }
        const entries = Buffer.allocUnsafe(ENTRY_BYTES * (written.size + removed.length));
        let e = 0;
        for (const w of written.values()) {
          encodeEntry(w.entry, entries, e);
          e += ENTRY_BYTES;
        }
        for (const num of removed) {
          encodeEntry({ num, start: 0, end: null, status: DELETED, off: 0, len: 0 }, entries, e);
          e += ENTRY_BYTES;
        }
        document.files = { gen, jobsBytes: at, indexBytes: files.indexBytes + entries.length, ...(files.indexGen > 0 ? { indexGen: files.indexGen } : {}) };
        return files.append(Buffer.concat(bodies), entries);
      },
      commit: () => {
        const files = rewrite ? target! : old!;
        files.jobsBytes = document.files!.jobsBytes;
        if (newIndex) files.adoptIndex(newIndex);
        files.indexBytes = document.files!.indexBytes;
        for (const [num, w] of written) {
          const t = this.tail.get(num);
          if (!t || t.version !== w.version) continue; // changed again meanwhile: stays in memory
          this.tail.delete(num);
          if (!newRun) this.index.setLocation(num, w.off, w.buf.length);
        }
        if (extendsRun && this.index.run === run) {
          this.index.rebase(run.extend(entriesAfter), upTo, (num) => openNums.has(num));
        } else if (newRun) {
          // A clear after the capture hides the new run as it hid the old one.
          const cleared = this.cleared && !wasCleared;
          this.index.rebase(cleared ? IndexRun.empty() : newRun, upTo, (num) => openNums.has(num));
          // Bodies still in memory point at the tail (-1); rebase kept their entries.
        }
        for (const n of capturedRemoved) this.removed.delete(n);
        if (wasCleared) this.cleared = false;
        if (rewrite) this.deadBytes -= deadAtCapture;
        if (rewrite && old) old.close();
        this.files = files;
      },
      // The document no longer names the old files: they can go.
      cleanup: async () => {
        if (rewrite && old) await old.remove();
        if (newIndex) await unlink(join(this.dir, indexFileName(gen, newIndex.indexGen - 1))).catch(() => undefined);
      },
      abort: () => {
        if (rewrite && target && target !== old) {
          target.close();
          void target.remove();
        }
        if (newIndex) {
          closeSync(newIndex.fd);
          void unlink(join(this.dir, indexFileName(gen, newIndex.indexGen))).catch(() => undefined);
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
