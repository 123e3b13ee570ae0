// Which finished jobs still have to be published to `{instance}/printlog/last_job`: every job that
// finished after the last one the broker acknowledged, oldest first, at most `backlog` of them.
// The history itself is the outbox, so jobs finished while the broker (or printlog) was down are
// published when it returns, in order. The mark of the last published job is kept in a small file.

import { open, readFile, rename } from "node:fs/promises";
import type { JobRecord } from "../history/types.js";

export interface PublishedMark {
  job_id: string;
  /** When that job finished (its end_time, else its last checkpoint or start). */
  time: number;
}

/** What deciding needs of a job: the index's summary (no body read) or the whole record. */
export type FinishedJob = Pick<JobRecord, "job_id" | "status" | "start_time" | "end_time"> & { last_checkpoint?: number | null };

export function finishTime(job: FinishedJob): number {
  return job.end_time ?? job.last_checkpoint ?? job.start_time;
}

function after(job: FinishedJob, mark: PublishedMark): boolean {
  const t = finishTime(job);
  // A job re-opened and finished again has a later finish time, so it is published again.
  return t > mark.time || (t === mark.time && job.job_id > mark.job_id);
}

/**
 * The jobs to publish, oldest finish first. With no mark yet (MQTT newly enabled) only the newest
 * finished job, so the retained topic has a value without replaying the whole history.
 */
export function pendingJobs<J extends FinishedJob>(jobs: Iterable<J>, mark: PublishedMark | null, backlog: number): { jobs: J[]; dropped: number } {
  const order = (a: J, b: J) => finishTime(a) - finishTime(b) || (a.job_id < b.job_id ? -1 : a.job_id > b.job_id ? 1 : 0);
  if (mark === null) {
    let newest: J | null = null;
    for (const j of jobs) if (j.status !== "in_progress" && (newest === null || order(j, newest) > 0)) newest = j;
    return { jobs: newest ? [newest] : [], dropped: 0 };
  }
  // One pass over the history; only the (few) pending jobs are sorted.
  const pending: J[] = [];
  for (const j of jobs) if (j.status !== "in_progress" && after(j, mark)) pending.push(j);
  pending.sort(order);
  const dropped = Math.max(0, pending.length - backlog);
  return { jobs: pending.slice(dropped), dropped };
}

export function markOf(job: FinishedJob): PublishedMark {
  return { job_id: job.job_id, time: finishTime(job) };
}

/** The mark file: read leniently (a damaged file counts as none), written temp -> fsync -> rename. */
export async function readMark(path: string): Promise<PublishedMark | null> {
  try {
    const v = JSON.parse(await readFile(path, "utf8")) as Partial<PublishedMark>;
    if (typeof v.job_id === "string" && typeof v.time === "number" && Number.isFinite(v.time)) return { job_id: v.job_id, time: v.time };
  } catch {
    // none yet, or unreadable: treated as MQTT newly enabled
  }
  return null;
}

export async function writeMark(path: string, mark: PublishedMark): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, "w", 0o644);
  try {
    await fh.writeFile(JSON.stringify(mark) + "\n");
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
