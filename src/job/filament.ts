// Filament of a job from every source at once (serial-protocol.md §3): M114's net E, sampled but
// exact, and PRINTCOUNTER's M78 counter, complete but in 10 mm steps and polled slowly. Both are
// tracked so the best one still available decides: a screen abort clears Marlin's queue (the M78
// asked for is never answered) and after kill() nothing answers (second round).

import { CLOSING_WINDOW_S, E_RESET_DROP_MM, type Reduction } from "./reduction.js";
import type { ClosedJob, FilamentTrack } from "./types.js";

/** A fresh track. `eFromZero`: E counts from 0 for this job (the slicer's G92 E0 already ran);
 *  otherwise the first M114 is the baseline (a job shown at a screen start, before its start G-code). */
export function newFilament(eFromZero: boolean): FilamentTrack {
  return { source: null, used: 0, eUsed: 0, eLast: eFromZero ? 0 : null, eSeen: false, m78Start: null, m78Used: null, adoptedUsed: null };
}

/** Baselines for a job starting now from what was read while idle (then consumed: a job whose
 *  closing reading is lost must not hand a stale baseline to the next). */
export function idleBaselines(r: Reduction, f: FilamentTrack, tentative: boolean): void {
  const s = r.s;
  if (tentative && s.idleE !== null) f.eLast = s.idleE;
  if (s.idleM78 !== null) {
    f.m78Start = s.idleM78;
    r.emit({ kind: "note", time: r.now, event: "filament_baseline", detail: `M78 ${f.m78Start} mm` });
  }
  s.idleE = null;
  s.idleM78 = null;
}

/** The figure: M78 unless M114 has seen more since M78's last (slow, possibly lost) reading. */
export function decide(f: FilamentTrack): void {
  if (f.m78Used !== null && (!f.eSeen || f.m78Used >= f.eUsed - 10)) {
    f.source = "m78";
    f.used = f.m78Used;
  } else if (f.eSeen) {
    f.source = "m114";
    f.used = f.eUsed;
  }
}

function addE(f: FilamentTrack, e: number): void {
  f.eSeen = true;
  if (f.adoptedUsed !== null) {
    // Re-adopted by a restarted printlog: a slicer's absolute E still at or above what was
    // recorded is the whole job's E; below it, E was reset since (count from the record).
    f.eUsed = e >= f.adoptedUsed - 1 ? e : f.adoptedUsed + Math.max(0, e);
    f.adoptedUsed = null;
    f.eLast = e;
    return;
  }
  if (f.eLast === null) {
    f.eLast = e;
    return;
  }
  const d = e - f.eLast;
  if (d < -E_RESET_DROP_MM || (Math.abs(e) < 1 && f.eLast > 5 && d < 0)) {
    // G92 E0 (or a new print's reset): what was extruded since the reset is e itself.
    f.eUsed += Math.max(0, e);
  } else {
    f.eUsed += d;
  }
  f.eLast = e;
}

/** An M114 answer: counts for the running job, or for the one that just ended. */
export function filamentFromE(r: Reduction, e: number): void {
  const job = r.s.job;
  if (job) {
    // The first M114 is the baseline only while the job has not printed yet (its start G-code,
    // with the slicer's G92 E0, is still to run); once printing, E counts from that reset.
    if (job.filament.eLast === null && !job.filament.eSeen && (!job.tentative || job.pos > 0)) job.filament.eLast = 0;
    addE(job.filament, e);
    decide(job.filament);
    return;
  }
  r.s.idleE = e;
  const closed = closing(r);
  if (!closed) return;
  addE(closed.filament, e);
  amendClosed(r, closed);
}

/** An M78 `Filament used` answer. */
export function filamentFromM78(r: Reduction, mm: number): void {
  const job = r.s.job;
  if (job) {
    const f = job.filament;
    if (f.m78Start === null) {
      // The baseline is the counter at the start: an answer that comes late (queries wait behind
      // moves and heat-ups) already includes what M114 saw extruded since.
      f.m78Start = mm - (f.eSeen ? Math.max(0, f.eUsed) : 0);
      r.emit({ kind: "note", time: r.now, event: "filament_baseline", detail: `M78 ${f.m78Start} mm` });
    } else {
      f.m78Used = Math.max(0, mm - f.m78Start);
    }
    decide(f);
    return;
  }
  r.s.idleM78 = mm;
  const closed = closing(r);
  if (!closed || closed.filament.m78Start === null) return;
  closed.filament.m78Used = Math.max(0, mm - closed.filament.m78Start);
  amendClosed(r, closed);
}

function closing(r: Reduction): ClosedJob | null {
  const closed = r.s.lastClosed;
  if (!closed || r.now > closed.closingUntil || closed.status === "klippy_disconnect" || closed.status === "interrupted") return null;
  return closed;
}

/** A reading after the end: the figure of the job just finished, sent as an amendment (the
 *  recorder folds the first one into the finish it holds back for it). */
function amendClosed(r: Reduction, closed: ClosedJob): void {
  const f = closed.filament;
  const before = f.used;
  decide(f);
  // Filament only grows: a reading that shows less is an older one arriving late.
  if (f.used < before) f.used = before;
  if (f.source) r.emit({ kind: "amend_filament", jobId: closed.jobId, filament_used: f.used, source: f.source });
}

/** Prusa MK3 adds a job's filament to its statistics only when the job ends (§3.3). */
export function prusaStats(r: Reduction, mm: number): void {
  const s = r.s;
  const closed = s.lastClosed;
  if (s.job && s.prusaStats === null) s.prusaStats = mm;
  else if (!s.job && closed && closed.prusaStatsStart !== null && mm > closed.prusaStatsStart) {
    r.emit({ kind: "amend_filament", jobId: closed.jobId, filament_used: mm - closed.prusaStatsStart, source: "prusa_m78" });
    closed.prusaStatsStart = null;
  }
  s.prusaStats = mm;
}

/** The filament baseline noted with a job (journalled in its timeline) survives a restart. */
export function baselineFromTimeline(timeline: readonly { event: string; detail?: string }[]): number | null {
  for (let i = timeline.length - 1; i >= 0; i--) {
    const t = timeline[i]!;
    if (t.event !== "filament_baseline") continue;
    const m = /M78 (-?\d+(?:\.\d+)?) mm/.exec(t.detail ?? "");
    if (m) return Number(m[1]);
  }
  return null;
}
