// RepRapFirmware in Marlin mode: `Done printing file` comes on every stop; the next line says
// which (serial-protocol.md D5, X6). Smoothieware's few differing lines live here too (P4, X7).

import type { PrinterEvent } from "./events.js";

/** The object-model query RRF 3 answers with the printing file's name. */
export const RRF_FILE_QUERY = 'M409 K"job.file.fileName"';

export function parseRrfLine(line: string): PrinterEvent | null {
  const m = /^(Finished|Cancelled) printing file (.+?), print time was/.exec(line);
  if (m) return { type: "rrf_stop", reason: m[1] === "Finished" ? "finished" : "cancelled", file: m[2]!.trim() };
  // `{"key":"job.file.fileName","flags":"","result":"0:/gcodes/benchy.gcode"}` (M409)
  if (line.startsWith('{"key":"job.file.fileName"')) {
    try {
      const obj = JSON.parse(line) as { result?: unknown };
      const name = typeof obj.result === "string" ? obj.result : null;
      return { type: "current_file", sfn: name, long: name };
    } catch {
      return null;
    }
  }
  return null;
}

export function parseSmoothieLine(line: string): PrinterEvent | null {
  if (line === "Not currently playing") return { type: "not_sd_printing" };
  if (/^SD print is paused at \d+\/\d+/.test(line)) return { type: "sd_paused" };
  if (line === "Aborted playing or paused file") return { type: "action", action: "cancel", arg: "smoothie abort" };
  return null;
}
