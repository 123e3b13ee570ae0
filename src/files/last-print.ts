// A file's last print (server.files.metadata's `job_id` and `print_start_time`) without reading the
// whole history: the newest jobs are read once, on first use, and every job started or finished
// after that is noted from the store's events, so a lookup reads at most one job body.

import type { HistoryStore } from "../history/store.js";
import type { JobRecord } from "../history/types.js";
import type { LastPrint } from "./file-metadata.js";

/** How many of the newest jobs the first lookup reads; older prints of a file are not named. */
export const LAST_PRINT_SCAN = 2000;
/** Distinct file names remembered (the oldest noted is forgotten first). */
const MAX_NAMES = 10_000;

export class LastPrints {
  private readonly known = new Map<string, LastPrint>();
  private seeded = false;

  constructor(private readonly store: HistoryStore) {
    store.on("changed", ({ job }: { job: JobRecord }) => {
      if (this.seeded) this.note(job);
    });
  }

  get(filename: string): LastPrint | null {
    if (!this.seeded) this.seed();
    const k = this.known.get(filename);
    if (!k) return null;
    // A deleted job no longer names the file's last print.
    const job = this.store.getJob(k.job_id);
    if (job && job.filename === filename) return k;
    this.known.delete(filename);
    return null;
  }

  private note(job: JobRecord): void {
    this.known.delete(job.filename);
    this.known.set(job.filename, { job_id: job.job_id, start_time: job.start_time });
    if (this.known.size > MAX_NAMES) this.known.delete(this.known.keys().next().value!);
  }

  private seed(): void {
    this.seeded = true;
    const jobs = this.store.jobs;
    for (let i = Math.max(0, jobs.length - LAST_PRINT_SCAN); i < jobs.length; i++) {
      const job = jobs[i];
      if (job) this.note(job);
    }
  }
}
