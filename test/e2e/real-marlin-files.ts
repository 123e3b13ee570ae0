// The card of the virtual printer in the real-Marlin end-to-end tests: small files, so each
// scenario is short.

import type { VpFile } from "../../scripts/virtual-printer.js";

/** A long name Marlin's `M20 L` cuts at 26 characters; its 8.3 alias as FAT derives it. */
export const CAL: VpFile = { sfn: "CALIBR~1.GCO", long: "calibration_cube_0.2mm_PLA_fine.gcode", size: 60_000, filament: 1200 };
export const LONG: VpFile = { sfn: "LONGPR~1.GCO", long: "long print.gcode", size: 120_000, filament: 2400 };
/** M1001 half-way: `Done printing file`, then the position stands for ever. */
export const HALF: VpFile = { sfn: "HALFWAY.GCO", long: "halfway.gcode", size: 40_000, filament: 800, m1001At: 0.5 };
export const FILES = [CAL, LONG, HALF];
