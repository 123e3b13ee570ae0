// Home Assistant MQTT discovery: the printer's state, current file, progress, last job and history
// totals as HA sensors of one device, all read from one retained JSON state topic. Pure: the
// bridge publishes what these functions return.

import type { HistoryStore } from "../history/store.js";

export interface PrinterSnapshot {
  /** `printing`, `paused` or `standby` (no job running), from the history's current job. */
  state: "printing" | "paused" | "standby";
  filename: string | null;
  /** Percent of the file, one decimal; null when no job runs or the printer does not say. */
  progress: number | null;
  job_id: string | null;
  last_job_status: string | null;
  last_job_filename: string | null;
  total_jobs: number;
  total_print_time: number;
  total_filament_used: number;
  longest_print: number;
}

export function snapshot(store: Pick<HistoryStore, "currentJob" | "jobs" | "totals">): PrinterSnapshot {
  const job = store.currentJob();
  let last = null;
  for (let i = store.jobs.length - 1; i >= 0; i--) {
    if (store.jobs[i]!.status !== "in_progress") {
      last = store.jobs[i]!;
      break;
    }
  }
  const t = store.totals().job_totals;
  return {
    state: job ? (job.paused ? "paused" : "printing") : "standby",
    filename: job?.filename ?? null,
    progress: job && job.progress !== null ? Math.round(job.progress * 1000) / 10 : null,
    job_id: job?.job_id ?? null,
    last_job_status: last?.status ?? null,
    last_job_filename: last?.filename ?? null,
    total_jobs: t.total_jobs,
    total_print_time: Math.round(t.total_print_time),
    total_filament_used: Math.round(t.total_filament_used * 10) / 10,
    longest_print: Math.round(t.longest_print),
  };
}

interface Entity {
  key: keyof PrinterSnapshot;
  name: string;
  icon: string;
  unit?: string;
  deviceClass?: string;
  stateClass?: string;
}

const ENTITIES: Entity[] = [
  { key: "state", name: "Printer state", icon: "mdi:printer-3d" },
  { key: "filename", name: "Current file", icon: "mdi:file-outline" },
  { key: "progress", name: "Progress", icon: "mdi:progress-clock", unit: "%", stateClass: "measurement" },
  { key: "last_job_status", name: "Last job status", icon: "mdi:history" },
  { key: "last_job_filename", name: "Last job file", icon: "mdi:file-check-outline" },
  { key: "total_jobs", name: "Total jobs", icon: "mdi:counter", stateClass: "total_increasing" },
  { key: "total_print_time", name: "Total print time", icon: "mdi:timer-outline", unit: "s", deviceClass: "duration", stateClass: "total_increasing" },
  { key: "total_filament_used", name: "Total filament used", icon: "mdi:printer-3d-nozzle", unit: "mm", deviceClass: "distance", stateClass: "total_increasing" },
  { key: "longest_print", name: "Longest print", icon: "mdi:timer-star-outline", unit: "s", deviceClass: "duration" },
];

export interface Topics {
  status: string;
  state: string;
}

/** Retained discovery configs: `<prefix>/sensor/printlog_<instance>/<key>/config`. */
export function discoveryMessages(prefix: string, instance: string, topics: Topics, version: string): { topic: string; payload: string }[] {
  const node = `printlog_${instance.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  return ENTITIES.map((e) => {
    const config: Record<string, unknown> = {
      name: e.name,
      unique_id: `${node}_${e.key}`,
      state_topic: topics.state,
      // No job running: numbers read 0 and texts read empty rather than the text "None".
      value_template: e.unit || e.stateClass ? `{{ value_json.${e.key} or 0 }}` : `{{ value_json.${e.key} or '' }}`,
      availability_topic: topics.status,
      availability_template: "{{ value_json.server }}",
      payload_available: "online",
      payload_not_available: "offline",
      icon: e.icon,
      device: { identifiers: [node], name: `${instance} (printlog)`, manufacturer: "printlog", model: "Marlin-family printer", sw_version: version },
      origin: { name: "printlog", sw_version: version },
    };
    if (e.unit) config["unit_of_measurement"] = e.unit;
    if (e.deviceClass) config["device_class"] = e.deviceClass;
    if (e.stateClass) config["state_class"] = e.stateClass;
    return { topic: `${prefix}/sensor/${node}/${e.key}/config`, payload: JSON.stringify(config) };
  });
}
