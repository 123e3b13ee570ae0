// The `configfile` object: what clients need to render a printer, built only from what printlog
// knows (M115's extruder count) and documented defaults (printer-state.md §5 "Minimal configfile").

import type { PrinterModel } from "./model.js";

/** Klipper's defaults and Marlin's stock limits; clients need numbers, never 0 (MS:PrintstatusPrinting.vue). */
export const MACHINE_DEFAULTS = {
  kinematics: "cartesian",
  max_velocity: 300,
  max_accel: 3000,
  minimum_cruise_ratio: 0.5,
  square_corner_velocity: 5,
  /** Marlin Configuration.h X_BED_SIZE / Y_BED_SIZE / Z_MAX_POS. */
  axis_maximum: [200, 200, 200, 0] as number[],
  axis_minimum: [0, 0, 0, 0] as number[],
};

const EXTRUDER = {
  max_temp: 275,
  min_temp: 5,
  min_extrude_temp: 170,
  nozzle_diameter: 0.4,
  filament_diameter: 1.75,
  max_extrude_only_distance: 50,
  control: "pid",
};

const BED = { max_temp: 150, min_temp: 5, control: "pid" };

type Section = Record<string, string | number>;

/** Section names and typed options; `config` holds the same values as strings. */
export function configSections(m: PrinterModel): Record<string, Section> {
  const sections: Record<string, Section> = {
    printer: { kinematics: MACHINE_DEFAULTS.kinematics, max_velocity: MACHINE_DEFAULTS.max_velocity, max_accel: MACHINE_DEFAULTS.max_accel },
  };
  const extruders = Math.max(m.firmware?.extruders ?? 1, ...Object.keys(m.heaters).filter((h) => h.startsWith("extruder")).map((h) => Number(h.slice(8) || "0") + 1));
  for (let i = 0; i < extruders; i++) sections[i === 0 ? "extruder" : `extruder${i}`] = { ...EXTRUDER };
  sections["heater_bed"] = { ...BED };
  if (m.heaters["heater_generic chamber"]) sections["heater_generic chamber"] = { max_temp: 80, min_temp: 0, control: "pid" };
  // Empty sections the dashboards check for (MS:store/variables.ts:58-64, FL:getters.ts:1031-1061);
  // the macros exist so Mainsail and Fluidd show no "missing configuration" card, and running
  // them answers that printlog is read-only.
  for (const name of ["virtual_sdcard", "pause_resume", "display_status", "gcode_macro PAUSE", "gcode_macro RESUME", "gcode_macro CANCEL_PRINT"]) sections[name] = {};
  return sections;
}

export function buildConfigfile(m: PrinterModel): Record<string, unknown> {
  const sections = configSections(m);
  const config: Record<string, Record<string, string>> = {};
  const settings: Record<string, Section> = {};
  for (const [name, options] of Object.entries(sections)) {
    config[name] = Object.fromEntries(Object.entries(options).map(([k, v]) => [k, String(v)]));
    settings[name.toLowerCase()] = options;
  }
  return { config, settings, warnings: [], save_config_pending: false, save_config_pending_items: {} };
}
