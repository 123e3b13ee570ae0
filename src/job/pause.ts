// Pauses: announced ones (//action:pause, `SD print paused`, an enqueued or host-sent M25) and the
// ones plain Marlin 2.1.2.1 does not announce at all (second round: the SD position and the
// toolhead stand still and no `echo:busy:` keep-alive comes, i.e. the queue is empty).

import { BUSY_QUIET_S, PAUSE_STAND_S, fieldsOf, type Reduction } from "./reduction.js";

export function pause(r: Reduction, reason: string, at = r.now, inferred = false): void {
  const job = r.s.job;
  if (!job || job.paused) return;
  job.paused = true;
  job.pausedAt = Math.min(at, r.now);
  job.pauseInferred = inferred;
  // An inferred pause starts from a standing position: any rise past it is printing again.
  job.pausePos = inferred ? job.pos : null;
  job.notPrinting = null;
  r.emit({ kind: "pause", time: job.pausedAt, fields: fieldsOf(job, r.now), reason });
}

export function resume(r: Reduction, reason: string, at = r.now): void {
  const job = r.s.job;
  if (!job || !job.paused) return;
  at = Math.min(at, r.now);
  job.pausedTotal += job.pausedAt !== null ? Math.max(0, at - job.pausedAt) : 0;
  job.paused = false;
  job.pausedAt = null;
  job.pausePos = null;
  job.pauseInferred = false;
  job.notPrinting = null;
  // The resume is the last sign of printing: the standing reports of the pause are no evidence
  // of a new one (the position may rise a moment after the resume is announced).
  job.standing = 0;
  job.posAt = Math.max(job.posAt, r.now);
  r.emit({ kind: "resume", time: Math.max(at, job.pausedAt ?? at), fields: fieldsOf(job, r.now), reason });
}

/** A print that completed while printlog still held it paused had resumed unseen: its rise fell
 *  after the last poll, or the end came first (a short rest of the file, a loaded host). Dated by
 *  the bytes left at the rate before the pause, never before the last report that still stood. */
export function resumedBeforeCompletion(r: Reduction, end: number): void {
  const job = r.s.job;
  if (!job?.paused) return;
  const left = job.size !== null && job.size > job.pos ? job.size - job.pos : 0;
  const since = job.rate > 0 ? left / job.rate : 0;
  resume(r, "the print completed while it looked paused: it had resumed", Math.min(end, Math.max(job.seenAt, end - since)));
}

/** An SD position report while paused: a rise past the paused position means printing again.
 *  After an announced M25 queued moves can still advance it a little (addendum), so only a rise
 *  past the first position seen while paused counts, and not in the first 2 s. `prevSeen`: the
 *  time of the report before this one. */
export function progressWhilePaused(r: Reduction, pos: number, prevSeen: number): void {
  const job = r.s.job;
  if (!job || !job.paused) return;
  if (job.pauseInferred) {
    if (job.pausePos === null || pos <= job.pausePos) return;
    // Nothing announces the resume: it came between the last standing report and this one.
    // The byte rate before the pause says how long ago printing carried on (polls lag, and more
    // so on a loaded host), never earlier than a report that still stood.
    const since = job.rate > 0 ? (pos - job.pausePos) / job.rate : 0;
    resume(r, `the SD position is rising again (${job.pausePos} -> ${pos})`, Math.max(prevSeen, r.now - since));
    return;
  }
  if (job.pausePos === null || pos < job.pausePos) job.pausePos = pos;
  else if (pos > job.pausePos && r.now - (job.pausedAt ?? r.now) >= 2) resume(r, "the SD position is rising again");
}

/** On each tick: plain Marlin 2 shows a pause only as a standing position with the queue idle.
 *  A heat-up (M109) or a long move also stands the position, but sends `busy: processing`
 *  every 2 s. Dated from the last sign of printing (a rise or a toolhead move). */
export function inferPause(r: Reduction): void {
  const s = r.s;
  const job = s.job;
  if (!job || job.paused || job.tentative || s.dialect !== "marlin2" || job.pos <= 0 || job.notPrinting) return;
  if (job.size !== null && job.pos >= job.size) return; // the last moves run after the file is read (addendum)
  const lastSign = Math.max(job.posAt, job.xyzAt, s.lastBusyAt);
  // Measured up to the last standing report, not to the tick: after a stall of printlog itself
  // the tick runs before the reports that waited meanwhile are read.
  const stood = job.seenAt - lastSign;
  if (job.standing < 2 || stood < PAUSE_STAND_S || job.seenAt - s.lastBusyAt < BUSY_QUIET_S) return;
  pause(r, `the SD position has stood at ${job.pos} for ${stood.toFixed(0)} s with the printer idle (no keep-alive): paused from the screen`, lastSign, true);
}
