// Ends: completed, cancelled, error, halted. Dated at the last sign of printing, not at the
// first `Not SD printing` (a cancel runs Marlin's abort G-code first, ~7 s, second round), and
// decided by the evidence, not by PRINTCOUNTER alone (a screen abort counts as Finished).

import type { FinishStatus } from "../history/types.js";
import type { PrinterEvent } from "../protocol/events.js";
import { decide } from "./filament.js";
import { resumedBeforeCompletion } from "./pause.js";
import { drop } from "./start.js";
import {
  CLOSING_WINDOW_S,
  ERROR_DECIDES_S,
  REOPEN_AFTER_DONE_S,
  REOPEN_AFTER_STRIKES_S,
  fieldsOf,
  type Reduction,
} from "./reduction.js";

export function finish(r: Reduction, status: FinishStatus, reason: string, at = r.now, reopenFor = 0, byStrikes = false): void {
  const s = r.s;
  const job = s.job;
  if (!job) return;
  const end = Math.min(Math.max(at, job.startedAt), r.now);
  if (status === "completed") resumedBeforeCompletion(r, end);
  decide(job.filament);
  const fields = fieldsOf(job, end);
  const errorMessage = job.errors.length > 0 ? [...new Set(job.errors)].join(" | ") : null;
  // One more reading after the end: the last poll lags the print (§3.1, §3.2, §3.3). A halted
  // printer answers nothing again.
  const halted = status === "klippy_shutdown" || status === "klippy_disconnect";
  const closingQueries: string[] = [];
  if (!halted) {
    if (s.dialect === "prusa_mk3" || job.filament.m78Start !== null) closingQueries.push("M78");
    // Asked even when no M114 was answered during the job: a job re-adopted after a restart may
    // end before its first poll, and the closing E is then its only reading (absolute E).
    if (s.dialect !== "prusa_mk3") closingQueries.push("M114");
  }
  r.emit({ kind: "finish", time: end, status, fields, reason, errorMessage, closingReadings: closingQueries.length });
  s.lastClosed = {
    jobId: null,
    filename: job.filename,
    sfn: job.sfn,
    size: job.size,
    pos: job.pos,
    endedAt: end,
    status,
    reopenUntil: end + reopenFor,
    posAfter: null,
    byStrikes,
    filament: { ...job.filament },
    closingUntil: r.now + CLOSING_WINDOW_S,
    startedAt: job.startedAt,
    pausedTotal: job.pausedTotal + (job.paused && job.pausedAt !== null ? Math.max(0, end - job.pausedAt) : 0),
    prusaStatsStart: s.dialect === "prusa_mk3" ? s.prusaStats : null,
  };
  s.job = null;
  s.pendingDone = null;
  for (const command of closingQueries) r.emit({ kind: "query", command });
}

/** The last sign of printing: the last rise of the SD position (a standing or absent report
 *  after it means the print had stopped; Marlin's abort G-code delays the first `Not SD printing`
 *  ~7 s), or for a print stopped before its first rise (in its heat-up) the last SD report. */
function lastPrinting(r: Reduction, fallback: number): number {
  const job = r.s.job;
  if (!job || job.paused) return fallback;
  return Math.min(fallback, job.pos > 0 ? job.posAt : job.seenAt);
}

/** The job stopped without saying how: completed if the file was read to the end, error if an
 *  error came just before, else cancelled. `fileClosed`: M27 C said no file is open. */
export function stopped(r: Reduction, reason: string, at: number, fileClosed = false): void {
  const s = r.s;
  const job = s.job;
  if (!job) return;
  // A screen start with no sign of running at all (no SD report, no keep-alive of its heat-up)
  // was never a print; one cancelled in its heat-up was (queries wait behind M109 there). A file
  // only selected stays open (M27 C names it); one closed again was printing and was aborted,
  // even when its heat-up and the abort were too short for a keep-alive (Marlin sends the first
  // after 2 s busy).
  if (job.tentative && job.pos <= 0 && job.standing === 0 && s.lastBusyAt < job.startedAt && !fileClosed) return drop(r, `${reason} before it printed anything`);
  const end = lastPrinting(r, at);
  const atEnd = job.size !== null && job.size > 0 && job.pos >= job.size;
  if (atEnd) return finish(r, "completed", `${reason}; the file had been read to the end`, end, REOPEN_AFTER_STRIKES_S, true);
  const err = s.lastError && r.now - s.lastError.at <= ERROR_DECIDES_S ? s.lastError : null;
  if (err) {
    if (!job.errors.includes(err.message)) job.errors.push(err.message);
    return finish(r, "error", `${reason} after the error '${err.message}'`, end, REOPEN_AFTER_STRIKES_S, true);
  }
  finish(r, "cancelled", reason, end, REOPEN_AFTER_STRIKES_S, true);
}

export function notPrinting(r: Reduction): void {
  const s = r.s;
  const job = s.job;
  if (!job) return;
  // Marlin before 2.1, Buddy and Klipper answer `Not SD printing` while paused (P2); Marlin
  // 2.1.2.1 keeps the position while paused, so after a pause inferred from it, `Not SD
  // printing` means the print ended (cancelled while paused): counted, and M27 C decides.
  if (job.paused && !job.pauseInferred) return;
  const np = job.notPrinting ?? { count: 0, since: r.now };
  np.count += 1;
  job.notPrinting = np;
  if (np.count <= 2) {
    // Ask the printer whether the file is still open (paused) and whether a print failed.
    if (s.dialect !== "prusa_mk3" && s.dialect !== "rrf") r.emit({ kind: "query", command: "M27 C" });
    if (s.stats) r.emit({ kind: "query", command: "M78" });
  }
  // One report right after a start is a race (Prusa-Link #252, OctoPrint #3001): it takes
  // several reports over several seconds to mean the print stopped.
  if (np.count >= r.opts.cancelCount && r.now - np.since >= r.opts.cancelSeconds) {
    stopped(r, `'Not SD printing' ${np.count} times over ${(r.now - np.since).toFixed(0)} s`, np.since);
  }
}

export function donePrinting(r: Reduction): void {
  const s = r.s;
  const job = s.job;
  if (!job) return; // Buddy ≥6.3 repeats it before the next job (D4)
  if (s.dialect === "rrf") {
    s.pendingDone = { at: r.now }; // the next line says Finished or Cancelled (D5)
    return;
  }
  if (s.dialect === "prusa_buddy") {
    // Buddy ≥6.3 prints it on abort too (D4): compare the position with the size.
    // The last poll may be a second or two old: extrapolate it at the measured rate.
    const estimated = job.pos + (job.paused ? 0 : job.rate * Math.max(0, r.now - job.posAt));
    const atEnd = job.size !== null && job.size > 0 && estimated >= job.size * 0.98;
    if (!atEnd && job.size !== null) return finish(r, "cancelled", `Done printing file at about byte ${Math.round(estimated)}/${job.size} (Buddy prints it on abort too)`);
  }
  // M1001 inside a file prints it half-way and leaves the file open, its position standing for
  // ever (second round): a finished job, re-opened only if the position rises again.
  finish(r, "completed", "Done printing file", r.now, REOPEN_AFTER_DONE_S);
}

/** PRINTCOUNTER's counters (§3.2): Failed +1 means a stop (an M524 cancel, or a stop after a
 *  firmware error), Finished +1 a stop too — a screen abort counts as Finished (second round).
 *  How it ended is decided by the file position and any error just before. */
export function statsCounts(r: Reduction, ev: Extract<PrinterEvent, { type: "stats_counts" }>): void {
  const s = r.s;
  s.stats = { finished: ev.finished, failed: ev.failed };
  const job = s.job;
  if (!job) return;
  if (!job.statsBaseline) {
    job.statsBaseline = { finished: ev.finished, failed: ev.failed };
    return;
  }
  const at = job.notPrinting?.since ?? r.now;
  if (ev.failed > job.statsBaseline.failed && (job.notPrinting || !job.paused)) {
    return stopped(r, `the printer's Failed counter rose (${job.statsBaseline.failed} -> ${ev.failed})`, at);
  }
  if (ev.finished > job.statsBaseline.finished && job.notPrinting) {
    return stopped(r, `the printer's Finished counter rose (${job.statsBaseline.finished} -> ${ev.finished})`, at);
  }
}

export function firmwareError(r: Reduction, ev: Extract<PrinterEvent, { type: "error" }>): void {
  const s = r.s;
  switch (ev.kind) {
    case "halt":
    case "thermal":
    case "stopped":
    case "kill": {
      if (s.job) {
        if (!s.job.errors.includes(ev.message)) s.job.errors.push(ev.message);
        finish(r, "klippy_shutdown", `firmware error: ${ev.message}`);
      } else if (s.lastClosed && r.now - s.lastClosed.endedAt < 5) {
        s.lastError = { message: ev.message, at: r.now };
      }
      return;
    }
    case "recoverable":
      if (s.job && !s.job.errors.includes(ev.message)) s.job.errors.push(ev.message);
      return;
    case "other":
      s.lastError = { message: ev.message, at: r.now };
      if (s.job && !s.job.errors.includes(ev.message)) s.job.errors.push(ev.message);
      return;
    case "protocol":
    case "sd":
    case "unknown_command":
      return; // noise never ends a job (E10)
  }
}
