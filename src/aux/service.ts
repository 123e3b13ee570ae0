// Auxiliary data for jobs: readings from sensor scripts (HTTP), serial-line rules and the active
// Spoolman spool feed the trackers, whose values become the running job's auxiliary_data.

import type { HistoryStore } from "../history/store.js";
import type { AuxTotalSpec, JobRecord } from "../history/types.js";
import type { Logger } from "../log.js";
import { NUMERIC_STRATEGIES, type HistoryField, type SensorConfig, type SensorSetup } from "./config.js";
import { RuleRunner } from "./rules.js";
import { auxEntry, newTracker, resetTracker, sampleTracker, type Tracker } from "./trackers.js";

export const SPOOLMAN_FIELD: HistoryField = {
  provider: "spoolman",
  name: "spool_ids",
  parameter: "spool_id",
  desc: "Spool IDs used",
  strategy: "collect",
  units: null,
  initTracker: true,
  excludePaused: false,
  reportTotal: false,
  reportMaximum: false,
  precision: null,
};

const SPOOL_SETTING = "spoolman.active_spool";

export class AuxError extends Error {}

export function auxTotalSpecs(setup: SensorSetup): AuxTotalSpec[] {
  return setup.sensors.flatMap((s) =>
    s.fields.map((f) => ({ provider: f.provider, field: f.name, reportTotal: f.reportTotal, reportMaximum: f.reportMaximum, precision: f.precision })),
  );
}

export class AuxService {
  private readonly trackers: Tracker[] = [];
  private readonly bySensor = new Map<string, { sensor: SensorConfig; trackers: Tracker[] }>();
  readonly latest = new Map<string, Record<string, unknown>>();
  private readonly spool: Tracker;
  readonly rules: RuleRunner;
  private jobId: string | null = null;
  private readonly spoolListeners: ((id: number | null) => void)[] = [];

  constructor(
    readonly setup: SensorSetup,
    private readonly store: HistoryStore,
    private readonly logger: Logger,
  ) {
    for (const sensor of setup.sensors) {
      const trackers = sensor.fields.map(newTracker);
      this.trackers.push(...trackers);
      this.bySensor.set(sensor.name, { sensor, trackers });
      this.latest.set(sensor.name, {});
    }
    this.spool = newTracker(SPOOLMAN_FIELD);
    const active = this.activeSpool;
    if (active !== null) sampleTracker(this.spool, active, false, false);
    this.trackers.push(this.spool);
    this.rules = new RuleRunner(setup.rules, (rule, why) => this.logger.error("aux.rule_disabled", { rule: rule.name, reason: why }));
    store.on("changed", ({ action, job }) => {
      if (action === "added" && job.status === "in_progress") this.onJobStart(job);
      if (action === "finished" && job.job_id === this.jobId) this.jobId = null;
    });
    const current = store.currentJob();
    if (current) this.jobId = current.job_id;
  }

  get activeSpool(): number | null {
    const v = this.store.setting<number | null>(SPOOL_SETTING);
    return typeof v === "number" ? v : null;
  }

  private onJobStart(job: JobRecord): void {
    if (job.timeline.some((e) => e.event === "reopened")) {
      this.jobId = job.job_id; // a re-opened job keeps its values
      return;
    }
    this.jobId = job.job_id;
    for (const t of this.trackers) resetTracker(t);
    this.pushValues(job.start_time, true);
  }

  private currentJob(): JobRecord | undefined {
    return this.jobId ? this.store.getJob(this.jobId) : undefined;
  }

  private pushValues(time: number, force = false): void {
    const job = this.currentJob();
    if (!job || job.status !== "in_progress") return;
    const auxiliary_data = this.trackers.map(auxEntry);
    // In memory at once; journalled with the job's next checkpoint (at most every 30 s).
    void this.store.updateJob(job.job_id, time, { auxiliary_data }, undefined, force).catch((e) =>
      this.logger.warn("aux.checkpoint_failed", { error: (e as Error).message }),
    );
  }

  /** Validates and applies readings of one sensor; throws AuxError naming what is wrong. */
  update(sensorName: string, values: Record<string, unknown>, time: number): string[] {
    const entry = this.bySensor.get(sensorName);
    if (!entry) throw new AuxError(`Unknown sensor: ${sensorName} (configured: ${[...this.bySensor.keys()].join(", ") || "none"})`);
    for (const [param, value] of Object.entries(values)) {
      if (!entry.sensor.parameters.includes(param)) {
        throw new AuxError(`Unknown parameter '${param}' for sensor ${sensorName} (it has ${entry.sensor.parameters.join(", ")})`);
      }
      for (const t of entry.trackers) {
        if (t.field.parameter !== param) continue;
        if (NUMERIC_STRATEGIES.has(t.field.strategy) && (typeof value !== "number" || !Number.isFinite(value))) {
          throw new AuxError(`Parameter '${param}' of sensor ${sensorName} must be a number (field ${t.field.name} uses the ${t.field.strategy} strategy), got ${JSON.stringify(value)}`);
        }
        if (value !== null && typeof value === "object") throw new AuxError(`Parameter '${param}' of sensor ${sensorName} must be a number, string or boolean`);
        if (typeof value === "string" && value.length > 256) throw new AuxError(`Parameter '${param}' of sensor ${sensorName} is longer than 256 characters`);
      }
    }
    const job = this.currentJob();
    const tracking = job !== undefined && job.status === "in_progress" && time >= job.start_time;
    const paused = job?.paused ?? false;
    const latest = this.latest.get(sensorName)!;
    for (const [param, value] of Object.entries(values)) {
      latest[param] = value;
      for (const t of entry.trackers) if (t.field.parameter === param) sampleTracker(t, value, tracking, paused);
    }
    if (tracking) this.pushValues(time);
    return Object.keys(values);
  }

  /** Offers a printer line to the serial-line rules. */
  onLine(line: string, time: number): void {
    for (const { rule, values } of this.rules.match(line)) {
      const parsed: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(values)) {
        const n = Number(v);
        parsed[k] = v.trim() !== "" && Number.isFinite(n) ? n : v;
      }
      try {
        this.update(rule.sensor, parsed, time);
      } catch (e) {
        this.logger.warn("aux.rule_value_refused", { rule: rule.name, error: (e as Error).message });
      }
    }
  }

  /** Called after each change of the active spool (for Moonraker's notify_active_spool_set). */
  onActiveSpool(listener: (id: number | null) => void): void {
    this.spoolListeners.push(listener);
  }

  async setActiveSpool(id: number | null, time: number): Promise<void> {
    await this.store.setSetting(SPOOL_SETTING, id);
    for (const l of this.spoolListeners) l(id);
    if (id === null) {
      // No spool: the next job starts with an empty list.
      this.spool.hasReading = false;
      this.spool.lastReading = null;
      return;
    }
    const job = this.currentJob();
    sampleTracker(this.spool, id, job !== undefined && job.status === "in_progress", false);
    this.pushValues(time, true);
  }
}
