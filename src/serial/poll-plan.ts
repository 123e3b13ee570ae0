// What to ask the printer, and when: the cheapest reliable watch for the capabilities it
// reported (serial-protocol.md §2.1-2.2). Pure: state in, commands out.

import type { RecorderState } from "../job/types.js";
import { RRF_LIST_COMMAND } from "../protocol/rrf-file-list.js";

/** The card is listed again this often while nothing prints: a file copied on since is named
 *  and dated by the time it prints. */
export const RELIST_IDLE_SECONDS = 600;
/** A job whose file the card had not dated has the card listed again once nothing prints and
 *  the job ended this long ago: a job cut off by a lost link that still prints has shown a
 *  rising position by then (M27 every few seconds while a job may run). */
export const DATE_RELIST_SECONDS = 15;

/** How to list the card with the most each firmware tells: long names and FAT dates (`M20 L T`,
 *  Marlin 2 with LONG_FILENAME_HOST_SUPPORT, Prusa MK3), RRF's JSON with dates (`M20 S3`), else
 *  names and sizes (Marlin 1.x ignores M20's parameters; Buddy prints bare names). Marlin 2
 *  without long names may still date files (M20_TIMESTAMP_SUPPORT, no `Cap:` of its own); a build
 *  without it ignores the `T` (`M20.cpp`: `TERN0(M20_TIMESTAMP_SUPPORT, parser.boolval('T'))`). */
export function listCommand(state: RecorderState): string {
  if (state.dialect === "rrf") return RRF_LIST_COMMAND;
  if (state.caps["EXTENDED_M20"] || state.dialect === "prusa_mk3") return "M20 L T";
  return state.dialect === "marlin2" ? "M20 T" : "M20";
}

export interface PollSettings {
  idleSeconds: number;
  printingSeconds: number;
  /** M114 for filament where no M78 counter exists. */
  positionSeconds: number;
  statsSeconds: number;
}

export interface PollMemory {
  handshakeDone: boolean;
  autoreportSd: boolean;
  last: Record<string, number>;
  /** The waiting job (`undated.since`) the card was last listed again for: once per job. */
  listedFor?: number;
}

export function newPollMemory(): PollMemory {
  return { handshakeDone: false, autoreportSd: false, last: {} };
}

/** Commands to send once the printer has identified itself. */
export function setupCommands(state: RecorderState, settings: PollSettings): string[] {
  const out: string[] = [];
  if (state.caps["AUTOREPORT_TEMP"]) out.push("M155 S10");
  if (state.caps["AUTOREPORT_SD_STATUS"]) out.push(`M27 S${Math.max(1, Math.round(settings.printingSeconds))}`);
  out.push("M78");
  // The extruder's position while idle: the next job's E baseline (see job/filament.ts).
  out.push("M114");
  // M20 walks the card; only while nothing prints (open question 9).
  if (!state.job) out.push(listCommand(state));
  return out;
}

/** Periodic queries due at `now`. */
export function dueCommands(state: RecorderState, mem: PollMemory, settings: PollSettings, now: number): string[] {
  const out: string[] = [];
  const due = (cmd: string, every: number) => {
    if (now - (mem.last[cmd] ?? -Infinity) >= every) {
      mem.last[cmd] = now;
      out.push(cmd);
    }
  };
  const watching = state.job !== null || state.selected !== null || state.pendingDone !== null || state.lastClosed !== null;
  if (!mem.autoreportSd) due("M27", watching ? settings.printingSeconds : settings.idleSeconds);
  // Idle only: nothing printing or selected, and the last job long over (a job cut off by a lost
  // link may still print; it is re-adopted within seconds of the link's return if so).
  const idle = !state.job && !state.selected && !state.pendingDone && (!state.lastClosed || now - state.lastClosed.endedAt >= RELIST_IDLE_SECONDS);
  if (idle) {
    // The first listing went out with the setup commands.
    const list = listCommand(state);
    mem.last[list] ??= now;
    due(list, RELIST_IDLE_SECONDS);
  }
  // The last job's file was not dated: list the card once, as soon as that is safe.
  const settled = !state.job && !state.selected && !state.pendingDone && (!state.lastClosed || now - state.lastClosed.endedAt >= DATE_RELIST_SECONDS);
  if (settled && state.undated && mem.listedFor !== state.undated.since) {
    mem.listedFor = state.undated.since;
    const list = listCommand(state);
    if (!out.includes(list)) out.push(list);
    mem.last[list] = now;
  }
  if (state.job) {
    // M114 alongside M78: a screen abort loses the M78 answer, and a standing toolhead is
    // part of how a pause shows on plain Marlin (second round).
    due("M114", settings.positionSeconds);
    if (state.stats) due("M78", settings.statsSeconds);
  }
  return out;
}
