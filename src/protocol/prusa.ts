// Prusa MK2/MK3 (Prusa-Firmware 3.x) lines that differ from Marlin's (serial-protocol.md P5,
// P6, P9, P10, T6, T8, D3, E7, E8), and Buddy's split M73 reply.

import type { PrinterEvent } from "./events.js";

export function parsePrusaLine(line: string): PrinterEvent | null {
  let m: RegExpExecArray | null;
  // `NORMAL MODE: Percent done: 1; print time remaining in mins: 182[; Change in mins: -1]`
  if ((m = /^NORMAL MODE: Percent done: (-?\d+); print time remaining in mins: (-?\d+)/.exec(line))) {
    const p = Number(m[1]);
    const r = Number(m[2]);
    return { type: "m73", percent: p < 0 ? null : p, remainingMin: r < 0 ? null : r };
  }
  if (/^SILENT MODE: /.test(line)) return { type: "other", text: line };
  if (line === "SD print paused" || line === "Print saved") return { type: "sd_paused" };
  // M27 elapsed `00:03` (≤3.12) or `1:5` (3.13+, minutes not padded).
  if ((m = /^(\d{1,4}):(\d{1,2})$/.exec(line))) return { type: "elapsed", minutes: Number(m[1]) * 60 + Number(m[2]) };
  if ((m = /^STATS (\d+) min (\d+) cm\.?$/.exec(line))) return { type: "prusa_stats", minutes: Number(m[1]), mm: Number(m[2]) * 10 };
  // M31 `echo:12 min, 34 sec`; end of SD print `echo:1 hours 23 minutes`.
  if ((m = /^echo:\s*(\d+) min, (\d+) sec$/.exec(line))) return { type: "print_time", seconds: Number(m[1]) * 60 + Number(m[2]) };
  if ((m = /^echo:\s*(\d+) hours (\d+) minutes$/.exec(line))) return { type: "print_time", seconds: Number(m[1]) * 3600 + Number(m[2]) * 60 };
  // Recoverable: the printer paused itself on a thermal-model error (comes with //action:paused).
  if (/^echo:\s*Printer stopped due to errors\./.test(line) || /^TM: error triggered!?$/.test(line)) {
    return { type: "error", kind: "recoverable", message: line.replace(/^echo:\s*/, "") };
  }
  // Buddy's bare M73 reply continues on two more lines.
  if (/^\s*(Time left|Change):\s*\d+m;\s*$/.test(line)) return { type: "other", text: line };
  return null;
}
