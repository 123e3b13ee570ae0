// What to ask the printer, and when: the cheapest reliable watch for the capabilities it
// reported (serial-protocol.md §2.1-2.2). Pure: state in, commands out.

import type { RecorderState } from "../job/types.js";

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
  if (!state.job) out.push(state.caps["EXTENDED_M20"] || state.dialect === "prusa_mk3" ? "M20 L T" : "M20");
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
  if (state.job) {
    // M114 alongside M78: a screen abort loses the M78 answer, and a standing toolhead is
    // part of how a pause shows on plain Marlin (second round).
    due("M114", settings.positionSeconds);
    if (state.stats) due("M78", settings.statsSeconds);
  }
  return out;
}
