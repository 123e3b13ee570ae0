// RepRapFirmware in Marlin mode: `Done printing file` comes on every stop; the next line says
// which (serial-protocol.md D5, X6). Smoothieware's few differing lines live here too (P4, X7).

import type { PrinterEvent } from "./events.js";

export function parseRrfLine(line: string): PrinterEvent | null {
  const m = /^(Finished|Cancelled) printing file (.+?), print time was/.exec(line);
  if (m) return { type: "rrf_stop", reason: m[1] === "Finished" ? "finished" : "cancelled", file: m[2]!.trim() };
  return null;
}

export function parseSmoothieLine(line: string): PrinterEvent | null {
  if (line === "Not currently playing") return { type: "not_sd_printing" };
  if (/^SD print is paused at \d+\/\d+/.test(line)) return { type: "sd_paused" };
  if (line === "Aborted playing or paused file") return { type: "action", action: "cancel", arg: "smoothie abort" };
  return null;
}
