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
  count: number;
  sum: number;
}

export function newTracker(field: HistoryField): Tracker {
  const t: Tracker = { field, lastReading: null, hasReading: false, value: null, prev: null, count: 0, sum: 0 };
  resetTracker(t);
  return t;
}

/** Job start: back to the empty value, or to the last reading with init_tracker. */
export function resetTracker(t: Tracker): void {
  const s = t.field.strategy;
  t.prev = null;
  t.count = 0;
  t.sum = 0;
  t.value = s === "delta" || s === "accumulate" ? 0 : s === "collect" ? [] : null;
  if (!t.field.initTracker || !t.hasReading) return;
  const r = t.lastReading;
  switch (s) {
    case "basic":
    case "maximum":
    case "minimum":
      t.value = r;
      return;
    case "average":
      if (typeof r === "number") {
        t.count = 1;
        t.sum = r;
        t.value = r;
      }
      return;
    case "delta":
      if (typeof r === "number") t.prev = r;
      return;
    case "accumulate":
      return;
    case "collect":
      t.value = [r];
      return;
  }
}

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
      t.value = (t.value as number) + (reading as number);
      return;
    case "delta": {
      const r = reading as number;
      if (t.prev !== null) t.value = (t.value as number) + (r - t.prev);
      t.prev = r;
      return;
    }
    case "average":
      t.count += 1;
      t.sum += reading as number;
      t.value = t.sum / t.count;
      return;
    case "maximum":
      t.value = t.value === null ? reading : Math.max(t.value as number, reading as number);
      return;
    case "minimum":
      t.value = t.value === null ? reading : Math.min(t.value as number, reading as number);
      return;
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
