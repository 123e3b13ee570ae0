// A job a restarted printlog finds in the history (interrupted, server_exit, klippy_disconnect):
// what the reducer needs to re-adopt it if the printer is still printing it, filament included.

import type { FinishStatus, JobRecord } from "../history/types.js";
import { baselineFromTimeline } from "./filament.js";
import { REOPEN_AFTER_LOSS_S } from "./reduction.js";
import type { ClosedJob } from "./types.js";

export function closedFromRecord(last: JobRecord): ClosedJob {
  const size = typeof last.metadata["size"] === "number" ? (last.metadata["size"] as number) : null;
  const endedAt = last.end_time ?? last.last_checkpoint ?? last.start_time + last.total_duration;
  // The filament baseline noted with the job (M78 at its start) makes the figure whole after a
  // restart; without one, M114's absolute E continues from what was recorded (filament.ts).
  const m78Start = baselineFromTimeline(last.timeline);
  const source = (last.filament_source as "m78" | "m114" | null) ?? null;
  return {
    jobId: last.job_id,
    filename: last.filename,
    sfn: last.printer_file,
    size,
    // The last checkpoint's progress, a little lower: a position behind it is a new print.
    pos: size !== null && last.progress !== null ? Math.floor(last.progress * size * 0.98) : 0,
    endedAt,
    status: last.status as FinishStatus | "interrupted",
    reopenUntil: endedAt + REOPEN_AFTER_LOSS_S,
    posAfter: null,
    byStrikes: false,
    closingUntil: 0,
    filament: {
      source,
      used: last.filament_used,
      eUsed: source === "m114" ? last.filament_used : 0,
      eLast: null,
      eSeen: source === "m114",
      m78Start,
      m78Used: m78Start !== null ? last.filament_used : null,
      adoptedUsed: last.filament_used,
    },
    startedAt: last.start_time,
    pausedTotal: Math.max(0, last.total_duration - last.print_duration),
    prusaStatsStart: null,
  };
}
