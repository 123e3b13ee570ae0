// One step of the job reducer: the state, the time, the options and the effects produced so
// far, shared by the rule modules (start, end, pause, filament, naming). Also the timings the
// rules use, each with its evidence (serial-protocol.md).

import type { ActiveJob, Effect, JobFields, RecorderState, ReducerOptions } from "./types.js";

/** How recent a `File opened` must be to date a job's start and name it. */
export const SELECTION_FRESH_S = 60;
/** After `Done printing file` (M1001 in the file) a rising position re-opens the job this long. */
export const REOPEN_AFTER_DONE_S = 600;
/** A job cut off by link loss or a printlog restart can be re-adopted this long after. */
export const REOPEN_AFTER_LOSS_S = 7 * 24 * 3600;
/** A job ended by `Not SD printing` strikes is re-opened if the same file carries on this soon. */
export const REOPEN_AFTER_STRIKES_S = 1800;
/** An unrecognised `Error:` this recent turns a stop into `error` rather than `cancelled`. */
export const ERROR_DECIDES_S = 120;
/** RRF: how long to wait for the `Finished/Cancelled printing file` line after `Done`. */
export const RRF_DONE_WAIT_S = 3;
/** An extrapolated start is never put further back than this. */
export const MAX_BACKDATE_S = 3 * 24 * 3600;
/** A G92 E0 (or a firmware E reset) shows as E dropping by more than this. */
export const E_RESET_DROP_MM = 20;
/** Readings this soon after a job's end still belong to it (the last poll lags the print). */
export const CLOSING_WINDOW_S = 15;
/** Plain Marlin 2.1.2.1 prints nothing when paused from the screen and keeps answering
 *  `SD printing byte N/M` with N standing (second round): a position and toolhead standing this
 *  long, with no `echo:busy:` keep-alive (sent every 2 s while a heat-up or move blocks), is a pause. */
export const PAUSE_STAND_S = 4;
export const BUSY_QUIET_S = 4.5;
/** A job shown at a screen start whose position never rises, with no keep-alive, is dropped. */
export const TENTATIVE_S = 90;
/** A carry-on within this many bytes of where `Not SD printing` began was a pause, not printing. */
export const CARRY_ON_BYTES = 512;

export class Reduction {
  readonly effects: Effect[] = [];
  constructor(
    readonly s: RecorderState,
    readonly now: number,
    readonly opts: ReducerOptions,
  ) {}

  emit(effect: Effect): void {
    this.effects.push(effect);
  }
}

export function fieldsOf(job: ActiveJob, now: number): JobFields {
  const total = Math.max(0, now - job.startedAt);
  const pausedNow = job.paused && job.pausedAt !== null ? Math.max(0, now - job.pausedAt) : 0;
  return {
    total_duration: total,
    print_duration: Math.min(total, Math.max(0, total - job.pausedTotal - pausedNow)),
    filament_used: Math.max(0, job.filament.used),
    progress: job.progress,
    filament_source: job.filament.source,
  };
}
