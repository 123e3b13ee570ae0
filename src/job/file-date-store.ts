// Writes a card date found after a job was named (job/file-date.ts) into the history: journalled
// with the job, so it survives a restart, and shown to clients.

import type { HistoryStore } from "../history/store.js";
import type { Logger } from "../log.js";

/** A running job carries the date in its `finished` notification; an ended job's `finished`
 *  goes out again with it, as for a late filament figure (Moonraker's notifications are only
 *  `added` and `finished`). A local copy's date, set at the start, wins. */
export async function writeFileDate(store: HistoryStore, logger: Logger, jobId: string | null, time: number, modified: number): Promise<void> {
  const job = jobId ? store.getJob(jobId) : undefined;
  if (!job || typeof job.metadata["modified"] === "number") return;
  const metadata = { ...job.metadata, modified };
  if (job.status === "in_progress") {
    await store.updateJob(job.job_id, time, { metadata }, undefined, true);
  } else {
    await store.amendMetadata(job.job_id, metadata);
    const after = store.getJob(job.job_id);
    if (after) store.emit("changed", { action: "finished", job: after });
  }
  logger.info("job.dated", { job_id: job.job_id, modified, note: "the card's date of the file, listed after the job was named" });
}
