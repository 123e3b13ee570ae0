// Builds Klipper's status objects from the printer model and the history's job, so print_stats
// and the history always tell the same story. Field lists and safe values: printer-state.md §2, §5.

import type { JobStatus } from "../history/types.js";
import { buildConfigfile, MACHINE_DEFAULTS } from "./configfile.js";
import type { PrinterModel } from "./model.js";

/** The job print_stats reports: the running one, or the last one finished since the printer booted. */
export interface JobView {
  filename: string;
  status: JobStatus;
  print_duration: number;
  total_duration: number;
  filament_used: number;
  progress: number | null;
  paused: boolean;
  size: number | null;
  error_message: string | null;
  end_time: number | null;
  /** When the job last stopped printing (a pause), for idle_timeout. */
  pausedAt: number | null;
  /** Slicer metadata, when the file was read: for print_stats.info layers. */
  layers: { objectHeight: number; layerHeight: number; firstLayerHeight: number } | null;
}

export interface HostStats {
  sysload: number;
  cputime: number;
  memavail: number;
}

export interface StatusInputs {
  model: PrinterModel;
  job: JobView | null;
  /** Unix seconds. */
  now: number;
  /** Monotonic seconds (Klipper's eventtime / print_time). */
  eventtime: number;
  host: HostStats;
  softwareVersion: string;
}

export type StatusObjects = Record<string, Record<string, unknown>>;

/** Klipper's idle_timeout keeps "Ready" this long after activity before "Idle". */
const READY_SECONDS = 600;
const CAN_EXTRUDE_AT = 170;

/** The console commands printlog forwards (console.ts READ_ONLY_QUERIES), as Klipper's gcode.commands. */
const CONSOLE_HELP: Record<string, { help: string }> = {
  M105: { help: "Report temperatures (read-only query)" },
  M114: { help: "Report the position (read-only query)" },
  M115: { help: "Report the firmware (read-only query)" },
  M27: { help: "Report SD print status (read-only query)" },
  M31: { help: "Report the print time (read-only query)" },
  M78: { help: "Report print statistics (read-only query)" },
  M119: { help: "Report endstop states (read-only query)" },
};

export type PrintState = "standby" | "printing" | "paused" | "complete" | "cancelled" | "error";

/** History status -> print_stats.state. Endings printlog could not observe read as standby. */
export function printState(job: JobView | null): PrintState {
  if (!job) return "standby";
  switch (job.status) {
    case "in_progress":
      return job.paused ? "paused" : "printing";
    case "completed":
      return "complete";
    case "cancelled":
      return "cancelled";
    case "error":
    case "klippy_shutdown":
      return "error";
    case "klippy_disconnect":
    case "server_exit":
    case "interrupted":
      return "standby";
  }
}

const round = (n: number, places = 2) => Math.round(n * 10 ** places) / 10 ** places;

function heaterObject(m: PrinterModel, name: string): Record<string, unknown> {
  const r = m.heaters[name];
  const temperature = r ? round(r.temperature) : 0;
  const base = { temperature, target: r?.target ?? 0, power: round(r?.power ?? 0, 3) };
  if (!name.startsWith("extruder")) return base;
  return { ...base, can_extrude: temperature >= CAN_EXTRUDE_AT, pressure_advance: 0, smooth_time: 0.04 };
}

/** Heater object names: one extruder per M115 EXTRUDER_COUNT, the bed, and any other heater reported. */
export function heaterNames(m: PrinterModel): string[] {
  const names = new Set<string>(["extruder"]);
  for (let i = 1; i < (m.firmware?.extruders ?? 1); i++) names.add(`extruder${i}`);
  names.add("heater_bed");
  for (const h of Object.keys(m.heaters)) names.add(h);
  return [...names];
}

export function objectNames(m: PrinterModel): string[] {
  return [
    "webhooks",
    "configfile",
    "mcu",
    "heaters",
    ...heaterNames(m),
    "gcode_move",
    "toolhead",
    "motion_report",
    "print_stats",
    "virtual_sdcard",
    "display_status",
    "pause_resume",
    "idle_timeout",
    "system_stats",
  ];
}

/** Layers from the slicer's heights and the M114 Z, as the clients themselves estimate them; null when unknown. */
function layerInfo(job: JobView | null, position: PrinterModel["position"]): { total_layer: number | null; current_layer: number | null } {
  const l = job?.layers;
  if (!l) return { total_layer: null, current_layer: null };
  const total = Math.max(1, Math.round((l.objectHeight - l.firstLayerHeight) / l.layerHeight) + 1);
  const z = position?.[2];
  const current = z === undefined || z <= 0 ? null : Math.min(total, Math.max(1, Math.round((z - l.firstLayerHeight) / l.layerHeight) + 1));
  return { total_layer: total, current_layer: job?.status === "completed" ? total : current };
}

function idleState(job: JobView | null, now: number): string {
  if (job?.status === "in_progress" && !job.paused) return "Printing";
  const last = job?.status === "in_progress" ? job.pausedAt : job?.end_time;
  return last !== null && last !== undefined && now - last < READY_SECONDS ? "Ready" : "Idle";
}

/** One object by name, or undefined when the printer has no such object (as in Klipper). */
export function buildObject(name: string, s: StatusInputs): Record<string, unknown> | undefined {
  const { model: m, job } = s;
  const position = m.position ?? [0, 0, 0, 0];
  const state = printState(job);
  const active = state === "printing" || state === "paused";
  switch (name) {
    case "webhooks":
      return { state: m.state === "disconnected" ? "error" : m.state, state_message: m.message };
    case "print_stats":
      return {
        filename: state === "standby" ? "" : (job?.filename ?? ""),
        total_duration: round(job && state !== "standby" ? job.total_duration : 0, 3),
        print_duration: round(job && state !== "standby" ? job.print_duration : 0, 3),
        filament_used: round(job && state !== "standby" ? job.filament_used : 0, 3),
        state,
        message: state === "error" ? (job?.error_message ?? m.message) : "",
        info: layerInfo(state === "standby" ? null : job, m.position),
      };
    case "virtual_sdcard": {
      const size = job && state !== "standby" ? (job.size ?? m.sdBytes?.size ?? 0) : 0;
      const progress = job && state !== "standby" ? (job.progress ?? 0) : 0;
      const sdPos = active && m.sdBytes && m.sdBytes.size === size ? m.sdBytes.pos : null;
      return { file_path: null, progress: round(progress, 4), is_active: state === "printing", file_position: sdPos ?? Math.round(progress * size), file_size: size };
    }
    case "display_status":
      return { progress: round(job && state !== "standby" ? (job.progress ?? 0) : 0, 4), message: m.displayMessage };
    case "pause_resume":
      return { is_paused: state === "paused" };
    case "idle_timeout":
      return { state: idleState(job, s.now), printing_time: round(state === "printing" && job ? job.total_duration : 0, 3) };
    case "toolhead":
      return {
        homed_axes: "",
        axis_minimum: MACHINE_DEFAULTS.axis_minimum,
        axis_maximum: MACHINE_DEFAULTS.axis_maximum,
        print_time: round(s.eventtime, 3),
        stalls: 0,
        estimated_print_time: round(s.eventtime, 3),
        extruder: "extruder",
        position,
        max_velocity: MACHINE_DEFAULTS.max_velocity,
        max_accel: MACHINE_DEFAULTS.max_accel,
        minimum_cruise_ratio: MACHINE_DEFAULTS.minimum_cruise_ratio,
        square_corner_velocity: MACHINE_DEFAULTS.square_corner_velocity,
      };
    case "gcode_move":
      return {
        speed_factor: 1,
        speed: 0,
        extrude_factor: 1,
        absolute_coordinates: true,
        absolute_extrude: true,
        homing_origin: [0, 0, 0, 0],
        position,
        gcode_position: position,
      };
    case "motion_report":
      return { live_position: position, live_velocity: 0, live_extruder_velocity: 0, steppers: [], trapq: [] };
    case "configfile":
      return buildConfigfile(m);
    case "mcu":
      return {
        mcu_version: m.firmware ? [m.firmware.name, m.firmware.version].filter(Boolean).join(" ") : "unknown",
        mcu_build_versions: m.firmware?.machine ?? "",
        mcu_constants: {},
      };
    case "system_stats":
      return { sysload: round(s.host.sysload), cputime: round(s.host.cputime, 3), memavail: Math.round(s.host.memavail) };
    case "heaters": {
      const heaters = heaterNames(m);
      return { available_heaters: heaters, available_sensors: heaters, available_monitors: [] };
    }
    case "gcode":
      // Mainsail's console completes from this (MS:store/printer/actions.ts initGcodes).
      return { commands: CONSOLE_HELP };
    default:
      return heaterNames(m).includes(name) ? heaterObject(m, name) : undefined;
  }
}

/** Objects requested as `{name: null | [fields]}`, answered by Klipper's rule: every requested
 *  object and field comes back, unknown objects as {} and unknown fields as null (KL:webhooks.py:503-522). */
export function queryObjects(request: Record<string, string[] | null>, s: StatusInputs): StatusObjects {
  const out: StatusObjects = {};
  for (const [name, fields] of Object.entries(request)) {
    const obj = buildObject(name, s);
    if (!obj) {
      out[name] = fields === null ? {} : Object.fromEntries(fields.map((f) => [f, null]));
      continue;
    }
    out[name] = fields === null ? obj : Object.fromEntries(fields.map((f) => [f, Object.hasOwn(obj, f) ? obj[f] : null]));
  }
  return out;
}
