// The journal records and their pure fold into a history model. Live writes and recovery use
// the same `applyRecord`, so what is replayed is exactly what was recorded. The model is the
// paged store (bodies on disk) or, for format-1 documents and tests, a plain array.

import {
  FINISH_STATUSES,
  formatJobId,
  parseJobId,
  zeroTotals,
  type AuxTotal,
  type FinishStatus,
  type JobRecord,
  type JobTotals,
  type TimelineEntry,
} from "./types.js";

export interface HistoryState {
  /** The next job number to hand out. Only ever grows: ids are never reused. */
  nextJobNumber: number;
  /** Every job, ascending by job number. */
  jobs: JobRecord[];
  totals: JobTotals;
  auxTotals: AuxTotal[];
  /** Small persistent settings (e.g. the active Spoolman spool). */
  settings: Record<string, unknown>;
}

/** The fields of a running job that a checkpoint, pause, resume or finish may change. */
export type JobUpdate = Partial<
  Pick<
    JobRecord,
    | "filename"
    | "start_time"
    | "user"
    | "print_duration"
    | "total_duration"
    | "filament_used"
    | "metadata"
    | "auxiliary_data"
    | "paused"
    | "progress"
    | "filament_source"
    | "printer_file"
    | "error_message"
  >
>;

export type HistoryRecord =
  | { op: "start"; job: JobRecord }
  | { op: "update"; job_id: string; time: number; fields: JobUpdate; event?: TimelineEntry }
  | {
      op: "finish";
      job_id: string;
      status: FinishStatus;
      time: number;
      fields: JobUpdate;
      aux_totals: AuxTotal[];
      event?: TimelineEntry;
    }
  | { op: "interrupt"; job_ids: string[]; time: number }
  | { op: "reopen"; job_id: string; time: number; aux_totals: AuxTotal[]; event: TimelineEntry }
  | { op: "amend"; job_id: string; fields: Pick<JobUpdate, "filament_used" | "filament_source" | "metadata"> }
  | { op: "delete"; job_ids: string[] }
  /** Jobs restored from an export, ids kept; finished ones count in the totals. */
  | { op: "import"; jobs: JobRecord[] }
  | { op: "delete_all" }
  | { op: "reset_totals"; aux_totals: AuxTotal[] }
  | { op: "setting"; key: string; value: unknown };

/** What the fold needs from a history: the paged store and the plain array both provide it. */
export interface HistoryModel {
  nextJobNumber: number;
  totals: JobTotals;
  auxTotals: AuxTotal[];
  settings: Record<string, unknown>;
  /** A job to change; call `touch` after changing it. */
  find(num: number): JobRecord | undefined;
  touch(job: JobRecord): void;
  insert(job: JobRecord): void;
  remove(nums: ReadonlySet<number>): void;
  clear(): void;
}

export function initialHistoryState(): HistoryState {
  return { nextJobNumber: 1, jobs: [], totals: zeroTotals(), auxTotals: [], settings: {} };
}

/** Binary search by job number; jobs are kept ascending. Returns the index or -1. */
export function indexOfJob(jobs: readonly JobRecord[], num: number): number {
  let lo = 0;
  let hi = jobs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const midNum = parseJobId(jobs[mid]!.job_id)!;
    if (midNum === num) return mid;
    if (midNum < num) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

export function findJob(state: HistoryState, jobId: string): JobRecord | undefined {
  const num = parseJobId(jobId);
  if (num === null) return undefined;
  const i = indexOfJob(state.jobs, num);
  return i === -1 ? undefined : state.jobs[i];
}

const MAX_TIMELINE = 500;

function addEvent(job: JobRecord, event: TimelineEntry | undefined): void {
  if (!event) return;
  job.timeline.push(event);
  // Bounded: a flapping printer must not grow a job record without limit.
  if (job.timeline.length > MAX_TIMELINE) job.timeline.splice(1, job.timeline.length - MAX_TIMELINE);
}

export function addToTotals(totals: JobTotals, job: JobRecord): void {
  totals.total_jobs += 1;
  totals.total_time += job.total_duration;
  totals.total_print_time += job.print_duration;
  totals.total_filament_used += job.filament_used;
  totals.longest_job = Math.max(totals.longest_job, job.total_duration);
  totals.longest_print = Math.max(totals.longest_print, job.print_duration);
}

/** Takes a finished job back out of the totals (sums only: a maximum stays, and the job's final
 *  values, which can only be larger, are maxed in again when it finishes). */
export function removeFromTotals(totals: JobTotals, job: JobRecord): void {
  totals.total_jobs = Math.max(0, totals.total_jobs - 1);
  totals.total_time -= job.total_duration;
  totals.total_print_time -= job.print_duration;
  totals.total_filament_used -= job.filament_used;
}

/** The format-1 document's state (everything in memory) as a fold model. */
export function arrayModel(state: HistoryState): HistoryModel {
  return {
    get nextJobNumber() {
      return state.nextJobNumber;
    },
    set nextJobNumber(n: number) {
      state.nextJobNumber = n;
    },
    get totals() {
      return state.totals;
    },
    set totals(t: JobTotals) {
      state.totals = t;
    },
    get auxTotals() {
      return state.auxTotals;
    },
    set auxTotals(t: AuxTotal[]) {
      state.auxTotals = t;
    },
    get settings() {
      return state.settings;
    },
    set settings(s: Record<string, unknown>) {
      state.settings = s;
    },
    find: (num) => {
      const i = indexOfJob(state.jobs, num);
      return i === -1 ? undefined : state.jobs[i];
    },
    touch: () => undefined,
    insert: (job) => {
      state.jobs.push(job);
    },
    remove: (nums) => {
      state.jobs = state.jobs.filter((j) => !nums.has(parseJobId(j.job_id)!));
    },
    clear: () => {
      state.jobs = [];
    },
  };
}

export function applyHistoryRecord(state: HistoryState, rec: HistoryRecord): void {
  applyRecord(arrayModel(state), rec);
}

function find(model: HistoryModel, id: string): JobRecord | undefined {
  const num = parseJobId(id);
  return num === null ? undefined : model.find(num);
}

export function applyRecord(state: HistoryModel, rec: HistoryRecord): void {
  switch (rec.op) {
    case "start": {
      const num = parseJobId(rec.job.job_id)!;
      state.insert({ ...rec.job, timeline: [...rec.job.timeline] });
      state.nextJobNumber = Math.max(state.nextJobNumber, num + 1);
      return;
    }
    case "update": {
      const job = find(state, rec.job_id);
      if (!job || job.status !== "in_progress") return;
      Object.assign(job, rec.fields);
      job.last_checkpoint = rec.time;
      addEvent(job, rec.event);
      state.touch(job);
      return;
    }
    case "finish": {
      const job = find(state, rec.job_id);
      if (!job || job.status !== "in_progress") return;
      Object.assign(job, rec.fields);
      job.status = rec.status;
      job.end_time = rec.time;
      job.paused = false;
      addEvent(job, rec.event);
      if (FINISH_STATUSES.has(rec.status)) addToTotals(state.totals, job);
      state.auxTotals = rec.aux_totals;
      state.touch(job);
      return;
    }
    case "interrupt": {
      for (const id of rec.job_ids) {
        const job = find(state, id);
        if (!job || job.status !== "in_progress") continue;
        // Moonraker leaves end_time null for interrupted jobs; the checkpointed durations stay.
        job.status = "interrupted";
        job.paused = false;
        addEvent(job, { time: rec.time, event: "interrupted", detail: "printlog was not running when the job ended" });
        state.touch(job);
      }
      return;
    }
    case "reopen": {
      const job = find(state, rec.job_id);
      if (!job || job.status === "in_progress") return;
      if (FINISH_STATUSES.has(job.status as FinishStatus)) removeFromTotals(state.totals, job);
      job.status = "in_progress";
      job.end_time = null;
      state.auxTotals = rec.aux_totals;
      addEvent(job, rec.event);
      state.touch(job);
      return;
    }
    case "amend": {
      const job = find(state, rec.job_id);
      if (!job) return;
      if (rec.fields.filament_used !== undefined && FINISH_STATUSES.has(job.status as FinishStatus)) {
        state.totals.total_filament_used += rec.fields.filament_used - job.filament_used;
      }
      Object.assign(job, rec.fields);
      state.touch(job);
      return;
    }
    case "import": {
      for (const job of rec.jobs) {
        const num = parseJobId(job.job_id)!;
        if (state.find(num)) continue;
        state.insert({ ...job, timeline: [...job.timeline] });
        state.nextJobNumber = Math.max(state.nextJobNumber, num + 1);
        if (FINISH_STATUSES.has(job.status as FinishStatus)) addToTotals(state.totals, job);
      }
      return;
    }
    case "delete":
      state.remove(new Set(rec.job_ids.map((id) => parseJobId(id) ?? -1)));
      return;
    case "delete_all":
      state.clear();
      return;
    case "reset_totals":
      state.totals = zeroTotals();
      state.auxTotals = rec.aux_totals;
      return;
    case "setting":
      Object.defineProperty(state.settings, rec.key, { value: rec.value, enumerable: true, writable: true, configurable: true });
      return;
  }
}
