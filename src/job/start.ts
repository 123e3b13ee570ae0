// Starts: a screen start shown at once (`File opened` + `File selected` printlog did not ask
// for, second round), a host's M24 (replayed logs), a rising SD position nobody announced, and
// re-opening a job that turns out to be still printing — but never for a standing position or
// one behind the last known (M1001 half-way; the same file printed again from byte 0).

import { RRF_FILE_QUERY } from "../protocol/rrf.js";
import { finish } from "./end.js";
import { dateOrAwait } from "./file-date.js";
import { idleBaselines, newFilament } from "./filament.js";
import { cardEntry, chooseName, sameFile, stripPath } from "./naming.js";
import { progressWhilePaused } from "./pause.js";
import { CARRY_ON_BYTES, MAX_BACKDATE_S, SELECTION_FRESH_S, TENTATIVE_S, fieldsOf, type Reduction } from "./reduction.js";
import type { ActiveJob, ClosedJob } from "./types.js";

export interface StartOptions {
  startAt?: number;
  /** Shown at a screen start before the position rises (dropped if it never does). */
  tentative?: boolean;
}

export function startJob(r: Reduction, cause: string, size: number | null, sfnHint: string | null, o: StartOptions = {}): void {
  const s = r.s;
  // A host may send M24 long after its M23: its selection stays good until then.
  const sel = s.selected && (r.now - s.selected.at <= SELECTION_FRESH_S || s.selected.byHost) ? s.selected : null;
  if (s.job) finish(r, "cancelled", "a new print started");
  const opened = sel?.name ? stripPath(sel.name) : null;
  const name = chooseName(s, opened, sfnHint ?? sel?.sfn ?? null);
  // A host-selected file starts printing at its M24, not at the selection (up to a minute
  // earlier); a screen start is both at once.
  const startedAt = Math.min(o.startAt ?? (sel && !sel.byHost ? sel.at : r.now), r.now);
  const fileSize = size ?? sel?.size ?? cardEntry(s, name.sfn)?.size ?? null;
  const metadata: Record<string, unknown> = {};
  if (fileSize !== null) metadata["size"] = fileSize;
  const job: ActiveJob = {
    filename: name.filename ?? "unknown.gcode",
    sfn: name.sfn,
    nameUnknown: name.filename === null,
    tentative: o.tentative ?? false,
    pauseInferred: false,
    xyz: null,
    xyzAt: startedAt,
    standing: 0,
    seenAt: startedAt,
    size: fileSize,
    startedAt,
    paused: false,
    pausedAt: null,
    pausedTotal: 0,
    pausePos: null,
    pos: 0,
    posAt: startedAt,
    rate: 0,
    progress: null,
    m73: false,
    notPrinting: null,
    // Slicers reset E (G92 E0) in their start G-code, so the logical E counts from 0 for a job
    // adopted mid-way (at worst since its last per-layer reset); a job shown at its screen start
    // takes its first M114 as the baseline (the start G-code has not run yet).
    filament: newFilament(!(o.tentative ?? false)),
    // The counters' baseline is the first M78 answered after the start (asked for below):
    // the last known counters may predate the previous job's end.
    statsBaseline: null,
    errors: [],
  };
  s.job = job;
  s.selected = null;
  s.lastClosed = null;
  s.lastError = null;
  const modified = dateOrAwait(r, name.sfn, name.filename);
  if (modified !== null) metadata["modified"] = modified;
  r.emit({ kind: "start", time: startedAt, filename: job.filename, sfn: job.sfn, metadata, cause, filamentSource: null });
  idleBaselines(r, job.filament, job.tentative);
  r.emit({ kind: "query", command: "M78" });
  if (job.nameUnknown || !name.listed) r.emit({ kind: "query", command: s.dialect === "rrf" ? RRF_FILE_QUERY : "M27 C" });
}

/** Brings back a job that was closed but is still printing. `pausedGap`: the gap was a pause
 *  (the same file carried on from the same byte), else the printer printed through it. */
export function reopen(r: Reduction, closed: ClosedJob, reason: string, pausedGap: boolean): void {
  const gap = Math.max(0, r.now - closed.endedAt);
  r.s.job = {
    filename: closed.filename,
    sfn: closed.sfn,
    nameUnknown: false,
    tentative: false,
    pauseInferred: false,
    xyz: null,
    xyzAt: r.now,
    standing: 0,
    seenAt: r.now,
    size: closed.size,
    startedAt: closed.startedAt,
    paused: false,
    pausedAt: null,
    pausedTotal: closed.pausedTotal + (pausedGap ? gap : 0),
    pausePos: null,
    pos: closed.pos,
    posAt: r.now,
    rate: 0,
    progress: closed.size ? closed.pos / closed.size : null,
    m73: false,
    notPrinting: null,
    // The printer's E position carried on; keep the last sample so nothing is lost.
    filament: { ...closed.filament },
    statsBaseline: null,
    errors: [],
  };
  r.s.lastClosed = null;
  // Readings taken before the reopen were taken while this job printed, not while idle: they
  // must not become the next job's baselines (a restarted printlog reads E mid-print first).
  r.s.idleE = null;
  r.s.idleM78 = null;
  r.emit({ kind: "reopen", time: r.now, jobId: closed.jobId, reason: `${reason} (after ${gap.toFixed(0)} s${pausedGap ? ", counted as a pause" : ""})` });
}

/** `File selected` right after a `File opened` printlog did not ask for: the printer's screen
 *  started a print (Marlin prints both on every port for an LCD start, second round). Shown at
 *  once; a host's M23 (replayed `Send:` lines) only selects. */
export function fileSelected(r: Reduction): void {
  const s = r.s;
  const sel = s.selected;
  if (s.job || !sel || !sel.opened || sel.byHost || r.now - sel.at > 2) return;
  if (s.dialect !== "marlin2" && s.dialect !== "marlin1") return;
  startJob(r, `the printer opened and selected ${sel.name ?? sel.sfn ?? "a file"} (started from its screen)`, sel.size, null, { tentative: true });
}

/** A job shown at a screen start is dropped if it never printed: no rise, no SD report, no
 *  keep-alive for a bounded time (a file only selected, e.g. by another host). */
export function expireTentative(r: Reduction): void {
  const job = r.s.job;
  if (!job?.tentative || job.pos > 0 || job.standing > 0) return;
  if (r.now - job.startedAt >= TENTATIVE_S && r.now - r.s.lastBusyAt >= 10) drop(r, `the position never rose in ${TENTATIVE_S} s`);
}

/** `Not SD printing` while M27 C names the file, before the first rise: the file is only selected
 *  (a host's M23 on another port; a screen start's heat-up holds M27's answer instead). Not a
 *  pause: the print starts at its M24, seen as the first rise. */
export function awaitStart(r: Reduction): void {
  const job = r.s.job;
  if (!job) return;
  job.awaitingSince = r.now;
  job.notPrinting = null;
}

/** The first rise of a job that waited selected: re-dated to just after its last idle report
 *  (M24 came between that report and this one), and the firmware's print timer asked to say when. */
function startAfterSelection(r: Reduction): void {
  const job = r.s.job;
  if (!job || job.awaitingSince === undefined) return;
  const at = Math.min(job.awaitingSince, r.now);
  job.awaitingSince = undefined;
  job.startedAt = at;
  job.startEstimated = true;
  job.startAfter = at;
  r.emit({ kind: "update", time: r.now, fields: { start_time: at, ...fieldsOf(job, r.now) } });
  r.emit({ kind: "note", time: r.now, event: "printing", detail: "the selected file started printing (M24)" });
  r.emit({ kind: "query", command: "M31" });
}

export function drop(r: Reduction, reason: string): void {
  r.s.job = null;
  r.s.undated = null;
  r.s.lastClosed = null;
  r.emit({ kind: "drop", time: r.now, reason });
}

export function progress(r: Reduction, pos: number, size: number): void {
  const s = r.s;
  const prev = s.lastProgress;
  s.lastProgress = { pos, size, at: r.now };
  const job = s.job;
  if (job) {
    if (job.size !== null && size > 0 && size !== job.size && pos > 0) {
      startJob(r, "SD progress of a different file", size, null);
      s.job!.pos = pos;
      s.job!.tentative = false;
      return;
    }
    job.notPrinting = null;
    const prevSeen = job.seenAt;
    job.seenAt = r.now;
    if (job.size === null && size > 0) job.size = size;
    if (job.paused) progressWhilePaused(r, pos, prevSeen);
    if (pos > job.pos && !job.paused) {
      if (job.awaitingSince !== undefined) startAfterSelection(r);
      if (job.pos > 0 && r.now > job.posAt) job.rate = (pos - job.pos) / (r.now - job.posAt);
      job.pos = pos;
      job.posAt = r.now;
      job.standing = 0;
      job.tentative = false;
    } else {
      job.standing += 1;
    }
    if (!job.m73 && size > 0) job.progress = Math.min(1, pos / size);
    return;
  }
  if (!(pos > 0 && size > 0 && pos < size)) return;
  const sfn = s.selected?.sfn ?? null;
  const closed = s.lastClosed;
  if (closed && r.now <= closed.reopenUntil && sameFile(closed, sfn, size)) {
    if (closed.status === "completed" && !closed.byStrikes) {
      // `Done printing file` with the file still open (M1001 half-way): the position stands for
      // ever (second round). Only a rise past the first position seen after it re-opens the job.
      if (closed.posAfter === null || pos <= closed.posAfter) {
        closed.posAfter = Math.min(closed.posAfter ?? pos, pos);
        return;
      }
      reopen(r, closed, `the same file carries on printing at byte ${pos}/${size}`, false);
      s.job!.pos = pos;
      return;
    }
    if (pos >= closed.pos) {
      // Printing from where it was: the same print. From the same byte after `Not SD printing`
      // strikes, the gap was a pause (a log where the firmware reported a pause that way).
      const pausedGap = closed.byStrikes && pos - closed.pos <= CARRY_ON_BYTES;
      reopen(r, closed, `the same file carries on printing at byte ${pos}/${size}`, pausedGap);
      s.job!.pos = pos;
      return;
    }
    // A position behind the last known one is a new print of the same file.
    s.lastClosed = null;
  }
  const sel = s.selected;
  const freshSelection = sel !== null && r.now - sel.at <= SELECTION_FRESH_S && (sel.size === null || sel.size === size);
  const rising = prev !== null && prev.size === size && pos > prev.pos;
  if (freshSelection || rising) {
    // Nothing announced this print: date its start by extrapolating the byte rate back to
    // byte 0 (refined by the firmware's own print timer where it answers M31 or M27).
    let startAt: number | undefined;
    if (!freshSelection && prev) {
      const rate = (pos - prev.pos) / Math.max(0.001, r.now - prev.at);
      if (rate > 0) startAt = Math.max(r.now - pos / rate, r.now - MAX_BACKDATE_S);
    } else if (freshSelection && sel?.byHost) {
      // A host-selected file whose M24 was not seen: it started printing at its first rise.
      startAt = prev && prev.size === size ? prev.at : r.now;
    }
    startJob(r, freshSelection ? "file opened and the SD position is rising" : "the SD position is rising (a print already running)", size, null, { ...(startAt !== undefined ? { startAt } : {}) });
    if (!freshSelection) {
      s.job!.startEstimated = true;
      if (s.dialect !== "prusa_mk3") r.emit({ kind: "query", command: "M31" });
    }
    s.job!.pos = pos;
    s.job!.posAt = r.now;
    s.job!.progress = pos / size;
  }
}

/** `M27 C` names the file: the card's spelling and the long name where the firmware has one. */
export function currentFileNames(r: Reduction, sfn: string, long: string | null): void {
  const job = r.s.job;
  if (!job) return;
  const target = stripPath(long ?? cardEntry(r.s, sfn)?.long ?? sfn);
  const sameSfn = job.sfn !== null && job.sfn.toLowerCase() === sfn.toLowerCase();
  // The LCD path lower-cases 8.3 names (`short.gco` for `SHORT.GCO`); `M27 C` has the card's spelling.
  const recased = sameSfn && job.sfn !== sfn;
  if (job.nameUnknown || (!job.sfn && long) || (sameSfn && job.filename !== target && (long !== null || recased || job.filename.toLowerCase() === sfn.toLowerCase()))) {
    job.filename = target;
    job.sfn = sfn;
    job.nameUnknown = false;
    // The listing's date for the file now named (RRF names it only once it prints, M409).
    const modified = dateOrAwait(r, r.s.dialect === "rrf" ? null : sfn, target);
    r.emit({ kind: "update", time: r.now, fields: { filename: job.filename, printer_file: sfn, ...(modified !== null ? { metadata: { modified } } : {}) } });
  } else if (recased) {
    job.sfn = sfn;
  }
}
