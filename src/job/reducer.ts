// The job-inference policy: a pure reducer over printer events, dispatching each input to the
// rules of its concern — start.ts, end.ts, pause.ts, filament.ts, naming.ts — each citing its
// evidence in serial-protocol.md. Every transition carries a reason the recorder logs and keeps.

import { endJsonListing, jsonListing, listBegins, listEnds, listedFile } from "./card-files.js";
import { dateOrAwait, expireUndated } from "./file-date.js";
import { donePrinting, finish, firmwareError, notPrinting, statsCounts, stopped } from "./end.js";
import { filamentFromE, filamentFromM78, prusaStats } from "./filament.js";
import { cardEntry, isShortName, stripPath } from "./naming.js";
import { inferPause, pause, resume } from "./pause.js";
import { fieldsOf, Reduction, REOPEN_AFTER_LOSS_S, RRF_DONE_WAIT_S, SELECTION_FRESH_S } from "./reduction.js";
import { awaitStart, currentFileNames, expireTentative, fileSelected, progress, startJob } from "./start.js";
import type { RecorderInput, RecorderState, ReducerOptions, Effect } from "./types.js";

export const DEFAULT_REDUCER_OPTIONS: ReducerOptions = { cancelCount: 3, cancelSeconds: 5 };

export function initialRecorderState(): RecorderState {
  return {
    dialect: "unknown",
    caps: {},
    firmware: null,
    selected: null,
    lastBusyAt: -Infinity,
    idleE: null,
    idleM78: null,
    lastOther: null,
    lastProgress: null,
    job: null,
    pendingDone: null,
    lastError: null,
    lastClosed: null,
    files: {},
    inFileList: false,
    jsonListSince: null,
    listPages: 0,
    walk: { queue: [], taken: 0, askedAt: null },
    undated: null,
    cardDated: null,
    listDates: { entries: 0, dated: 0 },
    stats: null,
    prusaStats: null,
  };
}

export interface ReduceResult {
  state: RecorderState;
  effects: Effect[];
}

function action(r: Reduction, name: string, arg: string): void {
  const s = r.s;
  const job = s.job;
  switch (name) {
    case "pause":
    case "paused":
      if (job) pause(r, `//action:${name}${arg ? " " + arg : ""}`);
      return;
    case "resume":
    case "resumed":
      if (job?.paused) resume(r, `//action:${name}`);
      // M24 prints //action:resume at the start of every SD print too (S11): a start hint.
      else if (!job && s.selected && r.now - s.selected.at <= SELECTION_FRESH_S) startJob(r, `file opened and //action:${name} (M24)`, null, null);
      return;
    case "cancel":
      if (job) finish(r, "cancelled", `//action:cancel${arg ? " " + arg : ""}`);
      return;
    default:
      return; // prompts, notifications, start (asks a host to start its own job), poweroff
  }
}

/** A command the printer enqueued (Marlin 1.x, Prusa echo their screen's commands) or another
 *  host sent (`Send:` lines of a replayed log). */
function command(r: Reduction, text: string, byHost: boolean): void {
  const s = r.s;
  const clean = text.replace(/^N\d+\s+/, "").replace(/\*\d+\s*$/, "").trim();
  const [code, ...rest] = clean.split(/\s+/);
  const c = (code ?? "").toUpperCase();
  const who = byHost ? "the host sent" : "the printer enqueued";
  if (c === "M23" && rest.length > 0) {
    const sfn = rest.join(" ");
    s.selected = { name: s.selected?.name ?? null, sfn, size: s.selected?.size ?? null, at: r.now, byHost };
  } else if (c === "M24") {
    if (s.job?.paused) resume(r, `${who} "M24"`);
    else if (!s.job && s.selected) {
      // A host's M24 is the start of printing (the selection may be a minute older).
      startJob(r, `${who} "M24"${byHost ? "" : " (started from its screen)"}`, null, null, byHost ? { startAt: r.now } : {});
    }
  } else if (c === "M25") {
    if (s.job) pause(r, `${who} "M25"`);
  } else if (c === "M524") {
    if (s.job) finish(r, "cancelled", `${who} "M524"`);
  } else if (c === "M26" && byHost && /^S0$/i.test(rest[0] ?? "") && s.job?.paused) {
    // OctoPrint cancels an SD print by pausing it (M25) and rewinding the file (M26 S0).
    finish(r, "cancelled", 'the host rewound the paused file ("M26 S0")');
  } else if (c === "M112" && byHost) {
    if (s.job) finish(r, "klippy_shutdown", 'the host sent "M112" (emergency stop)');
  }
}

function apply(r: Reduction, input: RecorderInput): void {
  const s = r.s;
  const now = r.now;
  if (input.type !== "other" && input.type !== "sd_progress" && input.type !== "tick" && input.type !== "ok") s.lastOther = null;
  switch (input.type) {
    case "tick":
      if (s.pendingDone && now - s.pendingDone.at >= RRF_DONE_WAIT_S) finish(r, "completed", "Done printing file", s.pendingDone.at);
      inferPause(r);
      expireTentative(r);
      endJsonListing(s, now);
      expireUndated(s, now);
      if (s.job) r.emit({ kind: "update", time: now, fields: fieldsOf(s.job, now) });
      return;
    case "link_up":
      return;
    case "link_lost":
      if (s.job) finish(r, "klippy_disconnect", `serial link lost: ${input.reason}`, now, REOPEN_AFTER_LOSS_S);
      s.selected = null;
      s.lastProgress = null;
      endJsonListing(s);
      return;
    case "host_sent":
      return command(r, input.command, true);
    case "boot":
      if (s.job) finish(r, "klippy_shutdown", "printer reset (the firmware printed its start banner)");
      s.lastClosed = null;
      s.selected = null;
      s.lastProgress = null;
      s.pendingDone = null;
      s.inFileList = false;
      endJsonListing(s);
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
      const recent = s.selected && now - s.selected.at < 5 ? s.selected : null;
      const sfn = recent?.sfn ?? (name && isShortName(name) ? name : null);
      s.selected = { name, sfn, size: input.size, at: now, opened: true, ...(recent?.byHost ? { byHost: true } : {}) };
      // Buddy ≥6.2 prints `File opened` only when the print stream starts (S5).
      if (s.dialect === "prusa_buddy" && !s.job) startJob(r, "File opened (Buddy prints it when a print starts)", input.size, null);
      return;
    }
    case "fresh_file":
      s.selected = { name: s.selected?.name ?? null, sfn: input.name, size: s.selected?.size ?? null, at: now, ...(s.selected?.byHost ? { byHost: true } : {}) };
      return;
    case "file_selected":
      return fileSelected(r);
    case "enqueued":
      return command(r, input.command, false);
    case "sd_progress":
      progress(r, input.pos, input.size);
      // Prusa's M27 names the file on the line before the bytes (P5): it names a job whose
      // file nobody announced, whether it was running already or just adopted above.
      if (s.dialect === "prusa_mk3" && s.lastOther && s.job?.nameUnknown) {
        s.job.filename = s.lastOther;
        s.job.nameUnknown = false;
        r.emit({ kind: "update", time: now, fields: { filename: s.lastOther } });
      }
      s.lastOther = null;
      return;
    case "not_sd_printing":
      return notPrinting(r);
    case "sd_paused":
      if (s.job) pause(r, "the printer reports the SD print paused");
      return;
    case "current_file": {
      const job = s.job;
      if (!job) {
        if (input.sfn) s.selected = { name: input.long ?? s.selected?.name ?? null, sfn: input.sfn, size: s.selected?.size ?? null, at: s.selected?.at ?? now };
        return;
      }
      if (input.sfn) currentFileNames(r, input.sfn, input.long);
      if (job.notPrinting) {
        if (input.sfn && job.tentative && job.pos <= 0 && !job.paused) awaitStart(r);
        else if (input.sfn && !job.pauseInferred) pause(r, "not printing but the file is still open (M27 C)");
        else if (!input.sfn && (job.notPrinting.count >= 2 || now - job.startedAt > r.opts.cancelSeconds)) {
          stopped(r, "not printing and no file open (M27 C)", job.notPrinting.since, true);
        }
      }
      return;
    }
    case "done_printing":
      return donePrinting(r);
    case "rrf_stop": {
      const at = s.pendingDone?.at ?? now;
      if (s.job) {
        const name = stripPath(input.file);
        if (name && s.job.filename !== name) {
          s.job.filename = name;
          // Named only now (no object model to ask): the listing's date comes with the name.
          const modified = dateOrAwait(r, null, name);
          r.emit({ kind: "update", time: now, fields: { filename: name, ...(modified !== null ? { metadata: { modified } } : {}) } });
        }
        finish(r, input.reason === "finished" ? "completed" : "cancelled", `${input.reason === "finished" ? "Finished" : "Cancelled"} printing file ${input.file}`, at);
      }
      s.pendingDone = null;
      return;
    }
    case "action":
      return action(r, input.action, input.arg);
    case "error":
      return firmwareError(r, input);
    case "position": {
      const job = s.job;
      if (job && input.xyz !== undefined && input.xyz !== job.xyz) {
        if (job.xyz !== null) job.xyzAt = now;
        job.xyz = input.xyz;
      }
      if (input.e !== null) filamentFromE(r, input.e);
      return;
    }
    case "stats_counts":
      return statsCounts(r, input);
    case "stats_filament":
      return filamentFromM78(r, input.mm);
    case "prusa_stats":
      return prusaStats(r, input.mm);
    case "m73":
      if (s.job && input.percent !== null) {
        s.job.m73 = true;
        s.job.progress = Math.min(1, Math.max(0, input.percent / 100));
      }
      return;
    case "file_list_begin":
      return listBegins(s);
    case "file_list_end":
      return listEnds(r);
    case "file_list_json":
      return jsonListing(r, input);
    case "file_list_entry":
      return listedFile(r, input);
    case "other":
      if (input.text !== "") s.lastOther = input.text;
      // Sprinter's two-line error: `Error:0` then `: Extruder switched off. MAXTEMP triggered !` (E11).
      if (/^:\s*Extruder switched off/.test(input.text) && s.job) {
        s.job.errors.push(input.text.slice(1).trim());
        finish(r, "klippy_shutdown", `firmware error: ${input.text.slice(1).trim()}`);
      }
      return;
    case "print_time":
    case "elapsed": {
      // The firmware's print timer dates a job whose start nobody announced.
      const job = s.job;
      const secs = input.type === "elapsed" ? input.minutes * 60 : input.seconds;
      if (job?.startEstimated && secs > 0) {
        job.startEstimated = false;
        const startedAt = job.startAfter !== undefined ? Math.max(job.startAfter, now - secs) : Math.min(now - secs, job.startedAt + 1);
        if (Math.abs(startedAt - job.startedAt) > 1) {
          job.startedAt = startedAt;
          r.emit({ kind: "update", time: now, fields: { start_time: startedAt, ...fieldsOf(job, now) } });
        }
      }
      return;
    }
    case "busy":
      // Any keep-alive, `paused for user` included (an M0 after the print, capture C9, is no
      // pause of the job): the firmware is not idle, so a standing position is no inferred pause.
      s.lastBusyAt = now;
      return;
    case "ok":
      endJsonListing(s);
      return;
    case "reset_cause":
    case "open_failed":
    case "temperature":
    case "resend":
      return;
  }
}

/** Applies one input at time `now`; mutates and returns the state with the effects to carry out. */
export function reduce(state: RecorderState, input: RecorderInput, now: number, opts: ReducerOptions = DEFAULT_REDUCER_OPTIONS): ReduceResult {
  const r = new Reduction(state, now, opts);
  apply(r, input);
  return { state, effects: r.effects };
}

/** Marks the job a reopen effect would bring back (the recorder knows ids; the reducer does not). */
export function rememberClosedId(state: RecorderState, jobId: string): void {
  if (state.lastClosed && state.lastClosed.jobId === null) state.lastClosed.jobId = jobId;
}

export { fieldsOf };
