// Aux totals as Moonraker keeps them: one entry per field with report_total or report_maximum;
// `total` sums each finished job's value, `maximum` keeps the largest; reset zeroes enabled ones.

import type { AuxField, AuxTotal, AuxTotalSpec } from "./types.js";

function round(value: number, precision: number | null): number {
  if (precision === null) return value;
  const f = 10 ** precision;
  return Math.round(value * f) / f;
}

export function resetAuxTotals(specs: readonly AuxTotalSpec[]): AuxTotal[] {
  return specs
    .filter((s) => s.reportTotal || s.reportMaximum)
    .map((s) => ({ provider: s.provider, field: s.field, maximum: s.reportMaximum ? 0 : null, total: s.reportTotal ? 0 : null }));
}

/**
 * New aux totals after a job with `jobAux` finished (or, with `jobAux` null, the previous totals
 * aligned to the configured fields).
 */
export function computeAuxTotals(
  specs: readonly AuxTotalSpec[],
  previous: readonly AuxTotal[],
  jobAux: readonly AuxField[] | null,
): AuxTotal[] {
  const out: AuxTotal[] = [];
  for (const spec of specs) {
    if (!spec.reportTotal && !spec.reportMaximum) continue;
    const prev = previous.find((t) => t.provider === spec.provider && t.field === spec.field);
    let maximum = prev ? prev.maximum : spec.reportMaximum ? 0 : null;
    let total = prev ? prev.total : spec.reportTotal ? 0 : null;
    const field = jobAux?.find((f) => f.provider === spec.provider && f.name === spec.field);
    const value = field && typeof field.value === "number" && Number.isFinite(field.value) ? field.value : null;
    if (value !== null) {
      if (spec.reportTotal) total = round((total ?? 0) + value, spec.precision);
      if (spec.reportMaximum) maximum = round(maximum === null ? value : Math.max(maximum, value), spec.precision);
    }
    out.push({ provider: spec.provider, field: spec.field, maximum: spec.reportMaximum ? maximum : null, total: spec.reportTotal ? total : null });
  }
  return out;
}

/** Takes a re-opened job's values back out of the sums (maxima stay; see removeFromTotals). */
export function subtractAuxTotals(specs: readonly AuxTotalSpec[], previous: readonly AuxTotal[], jobAux: readonly AuxField[]): AuxTotal[] {
  return computeAuxTotals(specs, previous, null).map((t) => {
    const spec = specs.find((s) => s.provider === t.provider && s.field === t.field);
    const field = jobAux.find((f) => f.provider === t.provider && f.name === t.field);
    if (!spec?.reportTotal || t.total === null || !field || typeof field.value !== "number") return t;
    return { ...t, total: round(t.total - field.value, spec.precision) };
  });
}
