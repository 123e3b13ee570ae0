// The history store: the one interface through which jobs are added, checkpointed and finished
// (by the recorder, or by tests without a printer) and read, deleted and totalled (by the API).
// Job bodies stay on disk (see paged-history.ts); reads fetch only what they return.

import { EventEmitter } from "node:events";
import { DurableLog, type DurableLogOptions } from "./durable-log.js";
import { applyRecord, type HistoryRecord, type JobUpdate } from "./state.js";
import { PagedHistory } from "./paged-history.js";
import { jobView, nextPosition, selectPositions, type ListQuery } from "./job-view.js";
import { STATUS_CODES } from "./job-index.js";
import { HistoryError } from "./errors.js";
import { cleanMetadata, type HistoryChange, type StartJobInput } from "./job-input.js";

export { cleanMetadata, type HistoryChange, type StartJobInput };
import { computeAuxTotals, resetAuxTotals, subtractAuxTotals } from "./aux-totals.js";
import {
  formatJobId,
  parseJobId,
  type AuxTotal,
  type AuxTotalSpec,
  type FinishStatus,
  type JobRecord,
  type JobStatus,
  type JobTotals,
  type TimelineEntry,
} from "./types.js";

export interface HistoryStoreOptions extends Omit<DurableLogOptions, "lock"> {
  /** Aux fields that report totals (from the sensor configuration). */
  auxTotalSpecs?: AuxTotalSpec[];
  /** Changed index entries held in memory before the index is rewritten (at least; default 2,048). */
  indexOverlayMin?: number;
  /** Minimum seconds between journalled checkpoints of a running job. */
  checkpointInterval?: number;
}

/** What the in-memory index knows of a job. */
export interface JobSummary {
  job_id: string;
  status: JobStatus;
  start_time: number;
  end_time: number | null;
}

export class HistoryStore extends EventEmitter<{ changed: [HistoryChange] }> {
  private lastCheckpoint = new Map<string, number>();

  private readonly view: readonly JobRecord[];

  private constructor(
    private readonly log: DurableLog<PagedHistory, HistoryRecord>,
    private readonly auxSpecs: AuxTotalSpec[],
    private readonly checkpointInterval: number,
  ) {
    super();
    this.view = jobView(log.state);
  }

  static async open(dir: string, options: HistoryStoreOptions): Promise<HistoryStore> {
    const log = await DurableLog.open<PagedHistory, HistoryRecord>(
      dir,
      {
        name: "history",
        load: async (doc, format, ctx) => {
          const h = await PagedHistory.load(ctx.dir, doc, format, ctx.readOnly);
          if (options.indexOverlayMin !== undefined) h.overlayMin = options.indexOverlayMin;
          return h;
        },
        apply: (s, r) => applyRecord(s, r),
        capture: (s) => s.capture(),
        wantsCompaction: (s) => s.wantsCompaction,
        dispose: async (s) => s.dispose(),
      },
      { ...options, lock: !options.readOnly },
    );
    for (const rot of log.state.rot) {
      log.warnings.push(rot);
      options.logger.error("history.record_corrupt", { note: rot });
    }
    const store = new HistoryStore(log, options.auxTotalSpecs ?? [], options.checkpointInterval ?? 30);
    if (options.readOnly) return store;
    // Moonraker: at start-up every in_progress job becomes interrupted (totals untouched).
    const open = store.openJobs().map((j) => j.job_id);
    if (open.length > 0) {
      options.logger.warn("history.interrupted", { jobs: open, note: "jobs were open when printlog last stopped" });
      // Not awaited when the directory cannot be written now: the record is kept and written
      // (the job marked interrupted on disk) once it can.
      await log.append({ op: "interrupt", job_ids: open, time: Date.now() / 1000 }).catch((e: unknown) => {
        // Logged by the log (store.write_failed); serving the history matters more than this write.
        if (!(e instanceof HistoryError && e.code === "storage_failed")) throw e;
      });
    }
    store.alignAuxTotals();
    return store;
  }

  /** Keeps one aux total per configured field; totals of fields no longer configured are dropped. */
  private alignAuxTotals(): void {
    const aligned = computeAuxTotals(this.auxSpecs, this.log.state.auxTotals, null);
    this.log.state.auxTotals = aligned;
  }

  get durable(): DurableLog<PagedHistory, HistoryRecord> {
    return this.log;
  }

  /** Problems found at start-up (a gap in the journal, a rotten record), for people to look at. */
  get warnings(): readonly string[] {
    return this.log.warnings;
  }

  /** Every job, ascending, as a read-only array view: each element is read from disk when used. */
  get jobs(): readonly JobRecord[] {
    return this.view;
  }

  get count(): number {
    return this.log.state.count;
  }

  getJob(jobId: string): JobRecord | undefined {
    const num = parseJobId(jobId);
    return num === null ? undefined : this.log.state.get(num);
  }

  /** The jobs a list query selects, as index positions (no body is read). */
  select(q: ListQuery): number[] {
    return selectPositions(this.log.state.index, q);
  }

  /** The job at an index position (from `select`), or undefined when it is gone meanwhile. */
  jobAt(pos: number): JobRecord | undefined {
    return pos < this.log.state.count ? this.log.state.bodyAt(pos) : undefined;
  }

  /** Job numbers of a selection, for reading them later while the history may change. */
  numbersOf(positions: readonly number[]): Uint32Array {
    const index = this.log.state.index;
    return Uint32Array.from(positions, (p) => index.numAt(p));
  }

  statusAt(pos: number): JobStatus {
    return this.log.state.statusAt(pos);
  }

  /** Every job's id, status and times from the index alone (no body is read), oldest first: for
   *  scans over the whole history, whatever its size. */
  *summaries(): Generator<JobSummary> {
    // A page of entries at a time, so the history may change between the caller's steps.
    const batch: JobSummary[] = [];
    let after = -1;
    for (;;) {
      const index = this.log.state.index;
      batch.length = 0;
      const from = after < 0 ? 0 : nextPosition(index, after);
      index.forEach(from, false, (_p, e) => batch.push({ job_id: formatJobId(e.num), status: STATUS_CODES[e.status] ?? "interrupted", start_time: e.start, end_time: e.end }) < 256);
      if (batch.length === 0) return;
      after = parseJobId(batch[batch.length - 1]!.job_id)!;
      yield* batch;
    }
  }

  /** Whether job `num` exists, without reading its body. */
  hasNumber(num: number): boolean {
    return this.log.state.has(num);
  }

  byNumber(num: number): JobRecord | undefined {
    return this.log.state.get(num);
  }

  private openJobs(): JobRecord[] {
    return [...this.log.state.tail.values()].map((t) => t.job).filter((j) => j.status === "in_progress");
  }

  /** The job currently running, if any (at most one). */
  currentJob(): JobRecord | undefined {
    let found: JobRecord | undefined;
    for (const { job } of this.log.state.tail.values()) {
      if (job.status === "in_progress" && (!found || parseJobId(job.job_id)! > parseJobId(found.job_id)!)) found = job;
    }
    return found;
  }

  totals(): { job_totals: JobTotals; auxiliary_totals: AuxTotal[] } {
    return { job_totals: { ...this.log.state.totals }, auxiliary_totals: this.log.state.auxTotals.map((t) => ({ ...t })) };
  }

  setting<T>(key: string): T | undefined {
    const settings = this.log.state.settings;
    return Object.prototype.hasOwnProperty.call(settings, key) ? (settings[key] as T) : undefined;
  }

  async setSetting(key: string, value: unknown): Promise<void> {
    await this.log.append({ op: "setting", key, value });
  }

  async startJob(input: StartJobInput): Promise<JobRecord> {
    const current = this.currentJob();
    if (current) {
      // Moonraker: a new start while a job is current finishes the old one as cancelled.
      await this.finishJob(current.job_id, "cancelled", input.start_time, {}, "a new job started");
    }
    const job: JobRecord = {
      job_id: formatJobId(this.log.state.nextJobNumber),
      user: input.user ?? "No User",
      filename: input.filename,
      status: "in_progress",
      start_time: input.start_time,
      end_time: null,
      print_duration: 0,
      total_duration: 0,
      filament_used: 0,
      metadata: cleanMetadata(input.metadata),
      auxiliary_data: input.auxiliary_data ?? [],
      paused: false,
      progress: null,
      filament_source: input.filament_source ?? null,
      printer_file: input.printer_file ?? null,
      error_message: null,
      last_checkpoint: input.start_time,
      timeline: [{ time: input.start_time, event: "started", ...(input.cause ? { detail: input.cause } : {}) }],
    };
    const done = this.log.append({ op: "start", job });
    this.lastCheckpoint.set(job.job_id, input.start_time);
    const stored = this.getJob(job.job_id)!;
    this.emit("changed", { action: "added", job: stored });
    await done;
    return stored;
  }

  /**
   * Updates a running job. Applied in memory at once; journalled (and fsync'd) only when
   * `force` or when `checkpointInterval` seconds have passed since the last journalled one.
   */
  async updateJob(jobId: string, time: number, fields: JobUpdate, event?: TimelineEntry, force = false): Promise<void> {
    const job = this.getJob(jobId);
    if (!job || job.status !== "in_progress") return;
    if (fields.metadata) fields = { ...fields, metadata: cleanMetadata(fields.metadata) };
    const last = this.lastCheckpoint.get(jobId) ?? -Infinity;
    if (!force && !event && time - last < this.checkpointInterval) {
      Object.assign(job, fields);
      return;
    }
    this.lastCheckpoint.set(jobId, time);
    // A checkpoint carries every value that may have changed since the last one.
    const full: JobUpdate = {
      print_duration: job.print_duration,
      total_duration: job.total_duration,
      filament_used: job.filament_used,
      auxiliary_data: job.auxiliary_data,
      progress: job.progress,
      paused: job.paused,
      ...fields,
    };
    await this.log.append({ op: "update", job_id: jobId, time, fields: full, ...(event ? { event } : {}) });
  }

  async pauseJob(jobId: string, time: number, fields: JobUpdate, reason: string): Promise<void> {
    await this.updateJob(jobId, time, { ...fields, paused: true }, { time, event: "paused", detail: reason }, true);
  }

  async resumeJob(jobId: string, time: number, fields: JobUpdate, reason: string): Promise<void> {
    await this.updateJob(jobId, time, { ...fields, paused: false }, { time, event: "resumed", detail: reason }, true);
  }

  async finishJob(
    jobId: string,
    status: FinishStatus,
    time: number,
    fields: JobUpdate,
    cause: string,
  ): Promise<JobRecord | undefined> {
    const job = this.getJob(jobId);
    if (!job || job.status !== "in_progress") return undefined;
    if (fields.metadata) fields = { ...fields, metadata: cleanMetadata(fields.metadata) };
    const finalAux = fields.auxiliary_data ?? job.auxiliary_data;
    const auxTotals = computeAuxTotals(this.auxSpecs, this.log.state.auxTotals, finalAux);
    const done = this.log.append({
      op: "finish",
      job_id: jobId,
      status,
      time,
      fields: {
        print_duration: job.print_duration,
        total_duration: job.total_duration,
        filament_used: job.filament_used,
        auxiliary_data: job.auxiliary_data,
        progress: job.progress,
        ...fields,
      },
      aux_totals: auxTotals,
      event: { time, event: status, detail: cause },
    });
    this.lastCheckpoint.delete(jobId);
    const stored = this.getJob(jobId)!;
    this.emit("changed", { action: "finished", job: stored });
    await done;
    return stored;
  }

  /**
   * Brings a finished or interrupted job back to in_progress under the same id: the printer was
   * still printing it (an early `Done printing file`, a lost link, a printlog restart).
   */
  async reopenJob(jobId: string, time: number, reason: string): Promise<JobRecord | undefined> {
    const job = this.getJob(jobId);
    if (!job || job.status === "in_progress" || this.currentJob()) return undefined;
    const counted = job.status !== "interrupted";
    const auxTotals = counted ? subtractAuxTotals(this.auxSpecs, this.log.state.auxTotals, job.auxiliary_data) : this.log.state.auxTotals;
    const done = this.log.append({ op: "reopen", job_id: job.job_id, time, aux_totals: auxTotals, event: { time, event: "reopened", detail: reason } });
    this.lastCheckpoint.set(job.job_id, time);
    const stored = this.getJob(job.job_id)!;
    this.emit("changed", { action: "added", job: stored });
    await done;
    return stored;
  }

  /** Corrects a job's filament after it ended (Prusa adds it to its statistics only then). */
  async amendFilament(jobId: string, filamentUsed: number, source: string): Promise<void> {
    if (!this.getJob(jobId)) return;
    await this.log.append({ op: "amend", job_id: jobId, fields: { filament_used: filamentUsed, filament_source: source } });
  }

  /** Replaces an ended job's metadata (its file's card date, found after the job ended). */
  async amendMetadata(jobId: string, metadata: Record<string, unknown>): Promise<void> {
    if (!this.getJob(jobId)) return;
    await this.log.append({ op: "amend", job_id: jobId, fields: { metadata: cleanMetadata(metadata) } });
  }

  /** Marks the open job interrupted (a replayed log that ends mid-print). */
  async interruptOpen(time: number): Promise<void> {
    const open = this.currentJob();
    if (open) await this.log.append({ op: "interrupt", job_ids: [open.job_id], time });
  }

  /** Deletes one job; returns false when there is no such job. */
  async deleteJob(jobId: string): Promise<boolean> {
    const job = this.getJob(jobId);
    if (!job) return false;
    await this.log.append({ op: "delete", job_ids: [job.job_id] });
    return true;
  }

  /** Restores exported jobs with their ids; refuses (changing nothing) when any id exists. */
  async importJobs(jobs: JobRecord[]): Promise<void> {
    const clash = jobs.filter((j) => this.getJob(j.job_id) !== undefined).map((j) => j.job_id);
    if (clash.length > 0) {
      throw new HistoryError("storage_failed", `${clash.length} job id(s) already in the history (${clash.slice(0, 5).join(", ")}${clash.length > 5 ? ", ..." : ""}); nothing imported`, { ids: clash.slice(0, 100) });
    }
    for (let i = 0; i < jobs.length; i += 500) await this.log.append({ op: "import", jobs: jobs.slice(i, i + 500) });
  }

  async deleteAll(): Promise<string[]> {
    const ids: string[] = [];
    this.log.state.index.forEach(0, false, (_p, e) => ids.push(formatJobId(e.num)) > 0);
    await this.log.append({ op: "delete_all" });
    return ids;
  }

  async resetTotals(): Promise<{ last_totals: JobTotals; last_auxiliary_totals: AuxTotal[] }> {
    const last = this.totals();
    await this.log.append({ op: "reset_totals", aux_totals: resetAuxTotals(this.auxSpecs) });
    return { last_totals: last.job_totals, last_auxiliary_totals: last.auxiliary_totals };
  }

  async close(): Promise<void> {
    await this.log.close();
  }
}
