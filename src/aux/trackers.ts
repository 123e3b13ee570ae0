// History-field trackers, one per configured field, as Moonraker's strategies behave: reset at
// job start, samples count only while a job runs (and, with exclude_paused, not while paused).
// Pure: a tracker is plain data; `sample` and `reset` return nothing but change it.

import type { HistoryField } from "./config.js";

export const COLLECT_MAX = 100;

export interface Tracker {
  field: HistoryField;
  /** The last reading seen at all (also outside jobs): what init_tracker starts from. */
  lastReading: unknown;
  hasReading: boolean;
  value: unknown;
  /** delta: the previous sample taken while tracking. */
  prev: number | null;
  /** average: samples so far; the start value (0 or the init reading) is replaced, not averaged in. */
  count: number;
  /** maximum/minimum: whether a real sample (or the init reading) has set the value yet. */
  initialized: boolean;
}

export function newTracker(field: HistoryField): Tracker {
  const t: Tracker = { field, lastReading: null, hasReading: false, value: null, prev: null, count: 0, initialized: false };
  resetTracker(t);
  return t;
}

const lastNumber = (t: Tracker): number | null => (t.hasReading && typeof t.lastReading === "number" ? t.lastReading : null);

/**
 * Job start, per strategy as Moonraker's trackers (common.py FieldTracker subclasses) reset, so
 * clients see a number from the first `added` notification on: delta, accumulate, average,
 * maximum and minimum start at 0 (or, with init_tracker, at the last reading); collect at [] (or
 * [last reading]). basic without init_tracker keeps the previous job's value, as Moonraker's does
 * (null only before any reading). One deliberate difference: a delta with init_tracker and no
 * reading yet starts counting from its first reading, not from 0 (Moonraker's default of 0 would
 * book a meter's whole lifetime reading on the job).
 */
export function resetTracker(t: Tracker): void {
  const s = t.field.strategy;
  const init = t.field.initTracker;
  const last = lastNumber(t);
  t.prev = null;
  t.count = 0;
  t.initialized = false;
  switch (s) {
    case "basic":
      if (init) t.value = t.hasReading ? t.lastReading : 0;
      return;
    case "delta":
      t.value = 0;
      if (init) t.prev = last;
      return;
    case "accumulate":
    case "average":
      t.value = init && last !== null ? last : 0;
      return;
    case "maximum":
    case "minimum":
      t.value = init && last !== null ? last : 0;
      t.initialized = init && last !== null;
      return;
    case "collect":
      t.value = init && t.hasReading && t.lastReading !== null ? [t.lastReading] : [];
      return;
  }
}

/** A sum that would leave the finite numbers (readings near ±1e308) keeps its value: the sample is dropped. */
const finiteOr = (next: number, kept: number): number => (Number.isFinite(next) ? next : kept);

/**
 * A reading. `tracking` is false outside jobs; `paused` excludes it when the field says so.
 * Numeric strategies receive numbers only (the caller validates).
 */
export function sampleTracker(t: Tracker, reading: unknown, tracking: boolean, paused: boolean): void {
  t.lastReading = reading;
  t.hasReading = true;
  if (!tracking) return;
  const s = t.field.strategy;
  if (paused && t.field.excludePaused) {
    // A delta resumes from the reading after the pause, so paused consumption is not counted.
    if (s === "delta" && typeof reading === "number") t.prev = reading;
    return;
  }
  switch (s) {
    case "basic":
      t.value = reading;
      return;
    case "accumulate":
      t.value = finiteOr((t.value as number) + (reading as number), t.value as number);
      return;
    case "delta": {
      const r = reading as number;
      if (t.prev !== null) t.value = finiteOr((t.value as number) + (r - t.prev), t.value as number);
      t.prev = r;
      return;
    }
    case "average": {
      const next = ((t.value as number) * t.count + (reading as number)) / (t.count + 1);
      if (!Number.isFinite(next)) return;
      t.count += 1;
      t.value = next;
      return;
    }
    case "maximum":
    case "minimum": {
      const r = reading as number;
      const pick = s === "maximum" ? Math.max : Math.min;
      t.value = t.initialized ? pick(t.value as number, r) : r;
      t.initialized = true;
      return;
    }
    case "collect": {
      const list = t.value as unknown[];
      if (list.some((v) => v === reading)) return;
      list.push(reading);
      if (list.length > COLLECT_MAX) list.splice(0, list.length - COLLECT_MAX);
      return;
    }
  }
}

export function roundTo(value: unknown, precision: number | null): unknown {
  if (precision === null || typeof value !== "number") return value;
  const f = 10 ** precision;
  return Math.round(value * f) / f;
}

/** The field as a job's auxiliary_data entry. */
export function auxEntry(t: Tracker): { provider: string; name: string; value: unknown; description: string; units: string | null } {
  const value = Array.isArray(t.value) ? [...t.value] : roundTo(t.value, t.field.precision);
  return { provider: t.field.provider, name: t.field.name, value, description: t.field.desc, units: t.field.units };
}
