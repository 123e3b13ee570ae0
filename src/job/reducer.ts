// The job-inference policy: a pure reducer over printer events. Every rule cites the evidence in
// serial-protocol.md; every transition carries a reason the recorder logs and keeps in the job.

import type { FinishStatus } from "../history/types.js";
import type { PrinterEvent } from "../protocol/events.js";
import { RRF_FILE_QUERY } from "../protocol/rrf.js";
import type { ActiveJob, ClosedJob, Effect, JobFields, RecorderInput, RecorderState, ReducerOptions } from "./types.js";

export const DEFAULT_REDUCER_OPTIONS: ReducerOptions = { cancelCount: 3, cancelSeconds: 5 };

/** How recent a `File opened` must be to date a job's start and name it. */
const SELECTION_FRESH_S = 60;
/** After `Done printing file` (M1001 in the file) a rising position re-opens the job this long. */
const REOPEN_AFTER_DONE_S = 600;
/** A job cut off by link loss or a printlog restart can be re-adopted this long after. */
const REOPEN_AFTER_LOSS_S = 7 * 24 * 3600;
/** A job ended by `Not SD printing` strikes is re-opened if the same file carries on this soon. */
const REOPEN_AFTER_STRIKES_S = 1800;
/** An unrecognised `Error:` this recent turns a stop into `error` rather than `cancelled`. */
const ERROR_DECIDES_S = 120;
/** RRF: how long to wait for the `Finished/Cancelled printing file` line after `Done`. */
const RRF_DONE_WAIT_S = 3;
/** An extrapolated start is never put further back than this. */
const MAX_BACKDATE_S = 3 * 24 * 3600;
/** A G92 E0 (or a firmware E reset) shows as E dropping by more than this. */
const E_RESET_DROP_MM = 20;

export function initialRecorderState(): RecorderState {
  return {
    dialect: "unknown",
    caps: {},
    firmware: null,
    selected: null,
    lastOther: null,
    lastProgress: null,
    job: null,
    pendingDone: null,
    lastError: null,
    lastClosed: null,
    files: {},
    inFileList: false,
    stats: null,
    prusaStats: null,
  };
}

export interface ReduceResult {
  state: RecorderState;
  effects: Effect[];
}

function fieldsOf(job: ActiveJob, now: number): JobFields {
  const total = Math.max(0, now - job.startedAt);
  const pausedNow = job.paused && job.pausedAt !== null ? Math.max(0, now - job.pausedAt) : 0;
  return {
    total_duration: total,
    print_duration: Math.max(0, total - job.pausedTotal - pausedNow),
    filament_used: Math.max(0, job.filament.used),
    progress: job.progress,
    filament_source: job.filament.source,
  };
}

/** Relative to the card's root: drops RRF's `0:/gcodes/`, Buddy's `/usb/`, Smoothie's `/sd/`. */
const stripPath = (name: string): string => name.replace(/^[0-9]:\//, "").replace(/^\/?(sd|usb|gcodes)\//i, "").replace(/^\/+/, "");

function sameFile(a: { sfn: string | null; filename: string; size: number | null }, sfn: string | null, size: number | null): boolean {
  if (size !== null && a.size !== null && size !== a.size) return false;
  if (sfn && a.sfn) return sfn.toLowerCase() === a.sfn.toLowerCase();
  return size !== null && a.size !== null;
}

class Reduction {
  readonly effects: Effect[] = [];
  constructor(
    readonly s: RecorderState,
    readonly now: number,
    readonly opts: ReducerOptions,
  ) {}

  private longName(sfn: string | null): string | null {
    if (!sfn) return null;
    return this.s.files[sfn.toLowerCase()]?.long ?? null;
  }

  start(cause: string, size: number | null, sfnHint: string | null, startAt?: number): void {
    const sel = this.s.selected && this.now - this.s.selected.at <= SELECTION_FRESH_S ? this.s.selected : null;
    if (this.s.job) this.finish("cancelled", "a new print started");
    const sfn = sfnHint ?? sel?.sfn ?? null;
    const opened = sel?.name ? stripPath(sel.name) : null;
    const listed = this.longName(sfn) ?? (opened ? this.longName(opened) : null);
    // Prefer a long name (listing, Prusa's absolute path); fall back to the 8.3 name.
    const name = listed ?? (opened && !/^[^/]{1,8}\.[^/.]{1,3}$/.test(opened) ? opened : null) ?? opened ?? (sfn ? stripPath(sfn) : null);
    const startedAt = sel ? Math.min(sel.at, this.now) : Math.min(startAt ?? this.now, this.now);
    const fileSize = size ?? sel?.size ?? null;
    const entry = sfn ? this.s.files[sfn.toLowerCase()] : undefined;
    const metadata: Record<string, unknown> = {};
    if (fileSize !== null) metadata["size"] = fileSize;
    if (entry?.modified) metadata["modified"] = entry.modified;
    const job: ActiveJob = {
      filename: name ?? "unknown.gcode",
      sfn: sfn ?? (opened && /^[^/]{1,8}\.[^/.]{1,3}$/.test(opened) ? opened : null),
      nameUnknown: name === null,
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
      // Slicers reset E (G92 E0) in their start G-code, so the logical E counts from 0 for the
      // job — also for one adopted mid-way (at worst since its last per-layer reset).
      filament: { source: null, used: 0, eLast: 0, m78Start: null },
      // The counters' baseline is the first M78 answered after the start (asked for below):
      // the last known counters may predate the previous job's end.
      statsBaseline: null,
      errors: [],
    };
    this.s.job = job;
    this.s.selected = null;
    this.s.lastClosed = null;
    this.s.lastError = null;
    this.effects.push({ kind: "start", time: startedAt, filename: job.filename, sfn: job.sfn, metadata, cause, filamentSource: null });
    // Baselines for filament and completion counters; the file's real name if unknown.
    this.effects.push({ kind: "query", command: "M78" });
    if (job.nameUnknown || !listed) this.effects.push({ kind: "query", command: this.s.dialect === "rrf" ? RRF_FILE_QUERY : "M27 C" });
  }

  finish(status: FinishStatus, reason: string, at = this.now, reopenFor = 0): void {
    const job = this.s.job;
    if (!job) return;
    const fields = fieldsOf(job, Math.max(at, job.startedAt));
    const errorMessage = job.errors.length > 0 ? job.errors.join(" | ") : null;
    this.effects.push({ kind: "finish", time: Math.max(at, job.startedAt), status, fields, reason, errorMessage });
    this.s.lastClosed = {
      jobId: null,
      filename: job.filename,
      sfn: job.sfn,
      size: job.size,
      pos: job.pos,
      endedAt: at,
      status,
      reopenUntil: at + reopenFor,
      filament: { ...job.filament },
      startedAt: job.startedAt,
      pausedTotal: job.pausedTotal + (job.paused && job.pausedAt !== null ? at - job.pausedAt : 0),
      prusaStatsStart: this.s.dialect === "prusa_mk3" ? this.s.prusaStats : null,
    };
    this.s.job = null;
    this.s.pendingDone = null;
    // One more reading after the end: the last poll lags the print (§3.1, §3.2, §3.3).
    if (this.s.dialect === "prusa_mk3" || job.filament.source === "m78") this.effects.push({ kind: "query", command: "M78" });
    else if (job.filament.source === "m114" && status === "completed") this.effects.push({ kind: "query", command: "M114" });
  }

  reopen(closed: ClosedJob, reason: string): void {
    const gap = this.now - closed.endedAt;
    this.s.job = {
      filename: closed.filename,
      sfn: closed.sfn,
      nameUnknown: false,
      size: closed.size,
      startedAt: closed.startedAt,
      paused: false,
      pausedAt: null,
      // The printer kept printing while the link was down: the gap counts as printing.
      pausedTotal: closed.pausedTotal,
      pausePos: null,
      pos: closed.pos,
      posAt: this.now,
      rate: 0,
      progress: closed.size ? closed.pos / closed.size : null,
      m73: false,
      notPrinting: null,
      // The printer's E position carried on; keep the last sample so nothing is lost.
      filament: { ...closed.filament },
      statsBaseline: null,
      errors: [],
    };
    this.s.lastClosed = null;
    this.effects.push({ kind: "reopen", time: this.now, jobId: closed.jobId, reason: `${reason} (after ${gap.toFixed(0)} s)` });
  }

  pause(reason: string): void {
    const job = this.s.job;
    if (!job || job.paused) return;
    job.paused = true;
    job.pausedAt = this.now;
    job.pausePos = null;
    job.notPrinting = null;
    this.effects.push({ kind: "pause", time: this.now, fields: fieldsOf(job, this.now), reason });
  }

  resume(reason: string): void {
    const job = this.s.job;
    if (!job || !job.paused) return;
    job.pausedTotal += job.pausedAt !== null ? this.now - job.pausedAt : 0;
    job.paused = false;
    job.pausedAt = null;
    job.pausePos = null;
    job.notPrinting = null;
    this.effects.push({ kind: "resume", time: this.now, fields: fieldsOf(job, this.now), reason });
  }

  /** The job stopped without saying how: completed if the file was read to the end, error if
   *  an error came just before, else cancelled. */
  stopped(reason: string, at: number): void {
    const job = this.s.job;
    if (!job) return;
    const atEnd = job.size !== null && job.size > 0 && job.pos >= job.size;
    if (atEnd) return this.finish("completed", `${reason}; the file had been read to the end`, at, REOPEN_AFTER_STRIKES_S);
    const err = this.s.lastError && this.now - this.s.lastError.at <= ERROR_DECIDES_S ? this.s.lastError : null;
    if (err) {
      job.errors.push(err.message);
      return this.finish("error", `${reason} after the error '${err.message}'`, at, REOPEN_AFTER_STRIKES_S);
    }
    this.finish("cancelled", reason, at, REOPEN_AFTER_STRIKES_S);
  }

  progress(pos: number, size: number): void {
    const prev = this.s.lastProgress;
    this.s.lastProgress = { pos, size, at: this.now };
    const job = this.s.job;
    if (job) {
      if (job.size !== null && size > 0 && size !== job.size && pos > 0) {
        // A different file is printing now.
        this.start("SD progress of a different file", size, null);
        this.s.job!.pos = pos;
        return;
      }
      job.notPrinting = null;
      if (job.size === null && size > 0) job.size = size;
      if (job.paused) {
        // Queued moves can advance the position a little right after a pause; only a rise past
        // the first position seen while paused means printing resumed (addendum, M25).
        if (job.pausePos === null || pos < job.pausePos) job.pausePos = pos;
        else if (pos > job.pausePos && this.now - (job.pausedAt ?? this.now) >= 2) this.resume("the SD position is rising again");
      }
      if (pos > job.pos && !job.paused) {
        if (job.pos > 0 && this.now > job.posAt) job.rate = (pos - job.pos) / (this.now - job.posAt);
        job.pos = pos;
        job.posAt = this.now;
      }
      if (!job.m73 && size > 0) job.progress = Math.min(1, pos / size);
      return;
    }
    if (!(pos > 0 && size > 0 && pos < size)) return;
    const sfn = this.s.selected?.sfn ?? null;
    const closed = this.s.lastClosed;
    if (closed && this.now <= closed.reopenUntil && sameFile(closed, sfn, size) && pos >= closed.pos - 4096) {
      this.reopen(closed, `the same file carries on printing at byte ${pos}/${size}`);
      this.s.job!.pos = pos;
      return;
    }
    const sel = this.s.selected;
    const freshSelection = sel !== null && this.now - sel.at <= SELECTION_FRESH_S && (sel.size === null || sel.size === size);
    const rising = prev !== null && prev.size === size && pos > prev.pos;
    if (freshSelection || rising) {
      // Nothing announced this print: date its start by extrapolating the byte rate back to
      // byte 0 (refined by the firmware's own print timer where it answers M31 or M27).
      let startAt: number | undefined;
      if (!freshSelection && prev) {
        const rate = (pos - prev.pos) / Math.max(0.001, this.now - prev.at);
        if (rate > 0) startAt = Math.max(this.now - pos / rate, this.now - MAX_BACKDATE_S);
      }
      this.start(freshSelection ? "file opened and the SD position is rising" : "the SD position is rising (a print already running)", size, null, startAt);
      if (!freshSelection) {
        this.s.job!.startEstimated = true;
        if (this.s.dialect !== "prusa_mk3") this.effects.push({ kind: "query", command: "M31" });
      }
      this.s.job!.pos = pos;
      this.s.job!.progress = pos / size;
    }
  }

  notPrinting(): void {
    const job = this.s.job;
    if (!job) return;
    if (job.paused) return; // Marlin, Buddy and Klipper answer `Not SD printing` while paused (P2).
    const np = job.notPrinting ?? { count: 0, since: this.now };
    np.count += 1;
    job.notPrinting = np;
    if (np.count <= 2) {
      // Ask the printer whether the file is still open (paused) and whether a print failed.
      if (this.s.dialect !== "prusa_mk3" && this.s.dialect !== "rrf") this.effects.push({ kind: "query", command: "M27 C" });
      if (this.s.stats) this.effects.push({ kind: "query", command: "M78" });
    }
    // One report right after a start is a race (Prusa-Link #252, OctoPrint #3001): it takes
    // several reports over several seconds to mean the print stopped.
    if (np.count >= this.opts.cancelCount && this.now - np.since >= this.opts.cancelSeconds) {
      this.stopped(`'Not SD printing' ${np.count} times over ${(this.now - np.since).toFixed(0)} s`, np.since);
    }
  }

  filamentFromE(e: number): void {
    const job = this.s.job;
    if (!job) return this.filamentAfterEnd(e);
    if (job.filament.source === "m78") return;
    const f = job.filament;
    f.source = "m114";
    this.addE(f, e);
  }

  /** The M114 asked for right after a completed job: the extrusion since the last poll. */
  private filamentAfterEnd(e: number): void {
    const closed = this.s.lastClosed;
    if (!closed || closed.status !== "completed" || closed.filament.source !== "m114" || this.now - closed.endedAt > 15) return;
    const f = closed.filament;
    const before = f.used;
    this.addE(f, e);
    f.source = null; // once
    if (f.used > before) this.effects.push({ kind: "amend_filament", jobId: closed.jobId, filament_used: f.used, source: "m114" });
  }

  private addE(f: ActiveJob["filament"], e: number): void {
    if (f.eLast === null) {
      f.eLast = e;
      return;
    }
    const d = e - f.eLast;
    if (d < -E_RESET_DROP_MM || (Math.abs(e) < 1 && f.eLast > 5 && d < 0)) {
      // G92 E0 (or a new print's reset): what was extruded since the reset is e itself.
      f.used += Math.max(0, e);
    } else {
      f.used += d;
    }
    f.eLast = e;
  }

  error(ev: Extract<PrinterEvent, { type: "error" }>): void {
    switch (ev.kind) {
      case "halt":
      case "thermal":
      case "stopped":
      case "kill": {
        if (this.s.job) {
          this.s.job.errors.push(ev.message);
          this.finish("klippy_shutdown", `firmware error: ${ev.message}`);
        } else if (this.s.lastClosed && this.now - this.s.lastClosed.endedAt < 5) {
          this.s.lastError = { message: ev.message, at: this.now };
        }
        return;
      }
      case "recoverable":
        if (this.s.job) this.s.job.errors.push(ev.message);
        return;
      case "other":
        this.s.lastError = { message: ev.message, at: this.now };
        if (this.s.job) this.s.job.errors.push(ev.message);
        return;
      case "protocol":
      case "sd":
      case "unknown_command":
        return; // noise never ends a job (E10)
    }
  }

  action(action: string, arg: string): void {
    const job = this.s.job;
    switch (action) {
      case "pause":
      case "paused":
        if (job) this.pause(`//action:${action}${arg ? " " + arg : ""}`);
        return;
      case "resume":
      case "resumed":
        if (job?.paused) this.resume(`//action:${action}`);
        // M24 prints //action:resume at the start of every SD print too (S11): a start hint.
        else if (!job && this.s.selected && this.now - this.s.selected.at <= SELECTION_FRESH_S) this.start(`file opened and //action:${action} (M24)`, null, null);
        return;
      case "cancel":
        if (job) this.finish("cancelled", `//action:cancel${arg ? " " + arg : ""}`);
        return;
      default:
        return; // prompts, notifications, start (asks a host to start its own job), poweroff
    }
  }

  enqueued(command: string): void {
    const [code, ...rest] = command.split(/\s+/);
    const c = (code ?? "").toUpperCase();
    if (c === "M23" && rest.length > 0) {
      const sfn = rest.join(" ");
      this.s.selected = { name: this.s.selected?.name ?? null, sfn, size: this.s.selected?.size ?? null, at: this.now };
    } else if (c === "M24") {
      if (this.s.job?.paused) this.resume('the printer enqueued "M24"');
      else if (!this.s.job && this.s.selected) this.start('the printer enqueued "M24" (started from its screen)', null, null);
    } else if (c === "M25") {
      if (this.s.job) this.pause('the printer enqueued "M25"');
    } else if (c === "M524") {
      if (this.s.job) this.finish("cancelled", 'the printer enqueued "M524"');
    }
  }

  apply(input: RecorderInput): void {
    const s = this.s;
    if (input.type !== "other") {
      if (input.type !== "sd_progress" && input.type !== "tick" && input.type !== "ok") s.lastOther = null;
    }
    switch (input.type) {
      case "tick":
        if (s.pendingDone && this.now - s.pendingDone.at >= RRF_DONE_WAIT_S) this.finish("completed", "Done printing file", s.pendingDone.at);
        if (s.job) this.effects.push({ kind: "update", time: this.now, fields: fieldsOf(s.job, this.now) });
        return;
      case "link_up":
        return;
      case "link_lost":
        if (s.job) this.finish("klippy_disconnect", `serial link lost: ${input.reason}`, this.now, REOPEN_AFTER_LOSS_S);
        s.selected = null;
        s.lastProgress = null;
        return;
      case "boot":
        if (s.job) this.finish("klippy_shutdown", "printer reset (the firmware printed its start banner)");
        s.lastClosed = null;
        s.selected = null;
        s.lastProgress = null;
        s.pendingDone = null;
        s.inFileList = false;
        return;
      case "firmware":
        s.firmware = input.name;
        s.dialect = input.dialect;
        return;
      case "cap":
        s.caps[input.name] = input.enabled;
        return;
      case "file_opened": {
        const name = input.name ? stripPath(input.name) : null;
        const sfn = s.selected?.sfn && this.now - s.selected.at < 5 ? s.selected.sfn : null;
        s.selected = { name, sfn: sfn ?? (name && /^[^/]{1,8}\.[^/.]{1,3}$/.test(name) ? name : null), size: input.size, at: this.now };
        // Buddy ≥6.2 prints `File opened` only when the print stream starts (S5).
        if (s.dialect === "prusa_buddy" && !s.job) this.start("File opened (Buddy prints it when a print starts)", input.size, null);
        return;
      }
      case "fresh_file":
        s.selected = { name: s.selected?.name ?? null, sfn: input.name, size: s.selected?.size ?? null, at: this.now };
        return;
      case "file_selected":
        return;
      case "enqueued":
        return this.enqueued(input.command);
      case "sd_progress":
        this.progress(input.pos, input.size);
        // Prusa's M27 names the file on the line before the bytes (P5): it names a job whose
        // file nobody announced, whether it was running already or just adopted above.
        if (s.dialect === "prusa_mk3" && s.lastOther && s.job?.nameUnknown) {
          s.job.filename = s.lastOther;
          s.job.nameUnknown = false;
          this.effects.push({ kind: "update", time: this.now, fields: { filename: s.lastOther } });
        }
        s.lastOther = null;
        return;
      case "not_sd_printing":
        return this.notPrinting();
      case "sd_paused":
        if (s.job) this.pause("the printer reports the SD print paused");
        return;
      case "current_file": {
        const job = s.job;
        if (!job) {
          if (input.sfn) s.selected = { name: input.long ?? s.selected?.name ?? null, sfn: input.sfn, size: s.selected?.size ?? null, at: s.selected?.at ?? this.now };
          return;
        }
        if (input.sfn && (job.nameUnknown || (!job.sfn && input.long) || (job.sfn && job.sfn.toLowerCase() === input.sfn.toLowerCase() && input.long && job.filename !== input.long))) {
          job.filename = stripPath(input.long ?? input.sfn);
          job.sfn = input.sfn;
          job.nameUnknown = false;
          this.effects.push({ kind: "update", time: this.now, fields: { filename: job.filename } });
        }
        if (job.notPrinting) {
          if (input.sfn) this.pause("not printing but the file is still open (M27 C)");
          else if (job.notPrinting.count >= 2 || this.now - job.startedAt > this.opts.cancelSeconds) {
            this.stopped("not printing and no file open (M27 C)", job.notPrinting.since);
          }
        }
        return;
      }
      case "done_printing": {
        const job = s.job;
        if (!job) return; // Buddy ≥6.3 repeats it before the next job (D4)
        if (s.dialect === "rrf") {
          s.pendingDone = { at: this.now }; // the next line says Finished or Cancelled (D5)
          return;
        }
        if (s.dialect === "prusa_buddy") {
          // Buddy ≥6.3 prints it on abort too (D4): compare the position with the size.
          // The last poll may be a second or two old: extrapolate it at the measured rate.
          const estimated = job.pos + (job.paused ? 0 : job.rate * Math.max(0, this.now - job.posAt));
          const atEnd = job.size !== null && job.size > 0 && estimated >= job.size * 0.98;
          if (!atEnd && job.size !== null) return this.finish("cancelled", `Done printing file at about byte ${Math.round(estimated)}/${job.size} (Buddy prints it on abort too)`);
        }
        // M1001 inside a file prints it early (D8): if the position keeps rising, the job re-opens.
        return this.finish("completed", "Done printing file", this.now, REOPEN_AFTER_DONE_S);
      }
      case "rrf_stop": {
        const at = s.pendingDone?.at ?? this.now;
        if (s.job) {
          const name = stripPath(input.file);
          if (name && s.job.filename !== name) {
            s.job.filename = name;
            this.effects.push({ kind: "update", time: this.now, fields: { filename: name } });
          }
          this.finish(input.reason === "finished" ? "completed" : "cancelled", `${input.reason === "finished" ? "Finished" : "Cancelled"} printing file ${input.file}`, at);
        }
        s.pendingDone = null;
        return;
      }
      case "action":
        return this.action(input.action, input.arg);
      case "error":
        return this.error(input);
      case "position":
        if (input.e !== null) this.filamentFromE(input.e);
        return;
      case "stats_counts": {
        s.stats = { finished: input.finished, failed: input.failed };
        const job = s.job;
        if (!job) return;
        if (!job.statsBaseline) {
          job.statsBaseline = { finished: input.finished, failed: input.failed };
          return;
        }
        // PRINTCOUNTER: Failed +1 means aborted, Finished +1 completed (§3.2).
        if (job.notPrinting || !job.paused) {
          if (input.failed > job.statsBaseline.failed) return this.finish("cancelled", `the printer's Failed counter rose (${job.statsBaseline.failed} -> ${input.failed})`, job.notPrinting?.since ?? this.now);
          if (input.finished > job.statsBaseline.finished && job.notPrinting) return this.finish("completed", `the printer's Finished counter rose (${job.statsBaseline.finished} -> ${input.finished})`, job.notPrinting.since);
        }
        return;
      }
      case "stats_filament": {
        const job = s.job;
        const closed = s.lastClosed;
        if (!job && closed && closed.filament.m78Start !== null && this.now - closed.endedAt <= 60) {
          // PRINTCOUNTER's lifetime filament after the job, minus the baseline from its start.
          this.effects.push({ kind: "amend_filament", jobId: closed.jobId, filament_used: Math.max(0, input.mm - closed.filament.m78Start), source: "m78" });
          closed.filament.m78Start = null;
          return;
        }
        if (!job) return;
        if (job.filament.m78Start === null) job.filament.m78Start = input.mm;
        else {
          job.filament.source = "m78";
          job.filament.used = input.mm - job.filament.m78Start;
        }
        return;
      }
      case "prusa_stats": {
        const closed = s.lastClosed;
        if (s.job && s.prusaStats === null) s.prusaStats = input.mm;
        else if (!s.job && closed && closed.prusaStatsStart !== null && input.mm > closed.prusaStatsStart) {
          // Prusa adds a job's filament to its statistics only when the job ends (§3.3).
          this.effects.push({ kind: "amend_filament", jobId: closed.jobId, filament_used: input.mm - closed.prusaStatsStart, source: "prusa_m78" });
          closed.prusaStatsStart = null;
        }
        s.prusaStats = input.mm;
        return;
      }
      case "m73":
        if (s.job && input.percent !== null) {
          s.job.m73 = true;
          s.job.progress = Math.min(1, Math.max(0, input.percent / 100));
        }
        return;
      case "file_list_begin":
        s.inFileList = true;
        return;
      case "file_list_end":
        s.inFileList = false;
        return;
      case "file_list_entry":
        s.files[input.sfn.toLowerCase()] = { sfn: input.sfn, size: input.size, long: input.long, modified: input.modified };
        return;
      case "other":
        if (input.text !== "") s.lastOther = input.text;
        // Sprinter's two-line error: `Error:0` then `: Extruder switched off. MAXTEMP triggered !` (E11).
        if (/^:\s*Extruder switched off/.test(input.text) && s.job) {
          s.job.errors.push(input.text.slice(1).trim());
          this.finish("klippy_shutdown", `firmware error: ${input.text.slice(1).trim()}`);
        }
        return;
      case "print_time":
      case "elapsed": {
        // The firmware's print timer dates a job whose start nobody announced.
        const job = s.job;
        const secs = input.type === "elapsed" ? input.minutes * 60 : input.seconds;
        if (job?.startEstimated && secs > 0) {
          job.startEstimated = false;
          const startedAt = Math.min(this.now - secs, job.startedAt + 1);
          if (Math.abs(startedAt - job.startedAt) > 1) {
            job.startedAt = startedAt;
            this.effects.push({ kind: "update", time: this.now, fields: { start_time: startedAt, ...fieldsOf(job, this.now) } });
          }
        }
        return;
      }
      case "ok":
      case "reset_cause":
      case "open_failed":
      case "busy":
      case "temperature":
      case "resend":
        return;
    }
  }
}

/** Applies one input at time `now`; mutates and returns the state with the effects to carry out. */
export function reduce(state: RecorderState, input: RecorderInput, now: number, opts: ReducerOptions = DEFAULT_REDUCER_OPTIONS): ReduceResult {
  const r = new Reduction(state, now, opts);
  r.apply(input);
  return { state, effects: r.effects };
}

/** Marks the job a reopen effect would bring back (the recorder knows ids; the reducer does not). */
export function rememberClosedId(state: RecorderState, jobId: string): void {
  if (state.lastClosed && state.lastClosed.jobId === null) state.lastClosed.jobId = jobId;
}

export { fieldsOf };
