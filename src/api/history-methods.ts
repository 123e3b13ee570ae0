// server.history.*: Moonraker's history endpoints, quirks included (Part 2 §8-22 of the
// reference): list order by job_id, limit <= 0 = all, strict before/since, uids echoed as sent.
// Pages read only their bodies; `limit=0` streams (see streamed-result.ts).

import type { HistoryStore } from "../history/store.js";
import type { ListQuery } from "../history/job-view.js";
import { parseJobId, type JobRecord } from "../history/types.js";
import { StreamedList } from "./streamed-result.js";
import type { Args } from "./args.js";
import { ApiError, badRequest, notFound } from "./errors.js";
import type { ApiMethod } from "./methods.js";

/** Decides `exists` for a job, on every read (file present and unchanged). */
export type FileExistence = (filename: string, metadata: Record<string, unknown>) => boolean;

export interface PresentedJob {
  job_id: string;
  user: string;
  filename: string;
  status: string;
  start_time: number;
  end_time: number | null;
  print_duration: number;
  total_duration: number;
  filament_used: number;
  metadata: Record<string, unknown>;
  auxiliary_data: unknown[];
  exists: boolean;
  printlog: Record<string, unknown>;
}

/** A job in Moonraker's key order, with printlog's extras kept under their own key. */
export function presentJob(job: JobRecord, exists: FileExistence, jobId = job.job_id): PresentedJob {
  return {
    job_id: jobId,
    user: job.user,
    filename: job.filename,
    status: job.status,
    start_time: job.start_time,
    end_time: job.end_time,
    print_duration: job.print_duration,
    total_duration: job.total_duration,
    filament_used: job.filament_used,
    metadata: job.metadata ?? {},
    auxiliary_data: job.auxiliary_data ?? [],
    exists: exists(job.filename, job.metadata ?? {}),
    printlog: {
      paused: job.paused,
      progress: job.progress,
      filament_source: job.filament_source,
      printer_file: job.printer_file ?? null,
      error_message: job.error_message,
      last_checkpoint: job.last_checkpoint,
      timeline: job.timeline,
    },
  };
}

/** Parses a uid as hex; a non-hex uid is a 400 (Moonraker answers 500 here). */
function requireUid(args: Args): { uid: string; num: number } {
  const uid = args.str("uid");
  const num = parseJobId(uid);
  if (num === null) throw badRequest(`Invalid job uid: ${uid} (job ids are hexadecimal, e.g. 00001A)`);
  return { uid, num };
}

export type { ListQuery };

/** The largest list answer built in memory; a larger `limit` is streamed like `limit=0`. */
export const PAGE_BUILT_MAX = 200;

export function parseListQuery(args: Args): ListQuery {
  const before = args.float("before", -1);
  const since = args.float("since", -1);
  const limit = args.int("limit", 50);
  const start = args.int("start", 0);
  const order = args.str("order", "desc").toUpperCase();
  if (order !== "ASC" && order !== "DESC") throw badRequest(`Invalid \`order\` value: ${order}`);
  return { limit, start, before, since, order };
}

export function historyMethods(store: HistoryStore, exists: FileExistence): ApiMethod[] {
  return [
    {
      rpc: "server.history.list",
      http: { verb: "GET", path: "/server/history/list" },
      handler: (args) => {
        const q = parseListQuery(args);
        const positions = store.select(q);
        if (q.limit > 0 && positions.length <= PAGE_BUILT_MAX) {
          // A page: read just its bodies.
          const jobs = positions.map((p) => presentJob(store.jobAt(p)!, exists));
          return { count: jobs.length, jobs };
        }
        // Everything, or a page too large to build (`limit=1000000`): streamed, each body read
        // as it is written out. Job numbers, not positions, so jobs added or deleted meanwhile
        // do not shift what is sent.
        const nums = store.numbersOf(positions);
        return new StreamedList(
          nums.length,
          (i) => {
            const job = store.byNumber(nums[i]!);
            return job && presentJob(job, exists);
          },
          (i) => store.hasNumber(nums[i]!),
        );
      },
    },
    {
      rpc: "server.history.totals",
      http: { verb: "GET", path: "/server/history/totals" },
      handler: () => store.totals(),
    },
    {
      rpc: "server.history.reset_totals",
      http: { verb: "POST", path: "/server/history/reset_totals" },
      handler: async () => {
        if (store.currentJob()) throw badRequest("Job in progress, cannot reset totals");
        return store.resetTotals();
      },
    },
    {
      rpc: "server.history.get_job",
      http: { verb: "GET", path: "/server/history/job" },
      handler: (args) => {
        const { uid } = requireUid(args);
        const job = store.getJob(uid);
        if (!job) throw notFound(`Invalid job uid: ${uid}`);
        return { job: presentJob(job, exists, uid) };
      },
    },
    {
      rpc: "server.history.delete_job",
      http: { verb: "DELETE", path: "/server/history/job" },
      handler: async (args) => {
        if (args.bool("all", false)) return { deleted_jobs: await store.deleteAll() };
        const { uid } = requireUid(args);
        if (!(await store.deleteJob(uid))) throw notFound(`Invalid job uid: ${uid}`);
        return { deleted_jobs: [uid] };
      },
    },
  ];
}

