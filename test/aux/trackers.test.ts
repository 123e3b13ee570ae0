// Every tracker strategy with reset, pause exclusion, precision, and totals across several
// jobs and a reset_totals, through the real store.

import { test } from "node:test";
import assert from "node:assert/strict";
import { parseHistoryField, type HistoryField } from "../../src/aux/config.js";
import { auxEntry, newTracker, resetTracker, sampleTracker, COLLECT_MAX } from "../../src/aux/trackers.js";
import { HistoryStore } from "../../src/history/store.js";
import { silentLogger } from "../../src/log.js";
import { tempDir } from "../helpers.js";

const field = (spec: string, name = "f"): HistoryField => parseHistoryField("sensor t", name, spec, "test", []);

function feed(f: HistoryField, samples: [unknown, boolean, boolean][], init?: unknown) {
  const t = newTracker(f);
  if (init !== undefined) sampleTracker(t, init, false, false);
  resetTracker(t);
  for (const [v, tracking, paused] of samples) sampleTracker(t, v, tracking, paused);
  return auxEntry(t).value;
}

test("basic keeps the last value; outside a job nothing counts", () => {
  assert.equal(feed(field("strategy=basic"), [[1, true, false], [2, false, false], [3, true, false]]), 3);
  assert.equal(feed(field("strategy=basic"), [[1, false, false]]), null);
});

test("delta sums differences between samples taken while tracking; init_tracker starts from the last reading", () => {
  const s: [number, boolean, boolean][] = [[10, true, false], [10.5, true, false], [11.25, true, false]];
  assert.equal(feed(field("strategy=delta"), s), 1.25);
  assert.equal(feed(field("strategy=delta\ninit_tracker=true"), s, 9), 2.25);
});

test("delta with exclude_paused does not count what was consumed while paused", () => {
  const s: [number, boolean, boolean][] = [[10, true, false], [11, true, false], [15, true, true], [16, true, false]];
  assert.equal(feed(field("strategy=delta\nexclude_paused=true"), s), 2);
  assert.equal(feed(field("strategy=delta"), s), 6);
});

test("accumulate, average, maximum, minimum", () => {
  const s: [number, boolean, boolean][] = [[2, true, false], [4, true, false], [9, true, true], [3, true, false]];
  assert.equal(feed(field("strategy=accumulate"), s), 18);
  assert.equal(feed(field("strategy=average"), s), 4.5);
  assert.equal(feed(field("strategy=average\nexclude_paused=true"), s), 3);
  assert.equal(feed(field("strategy=maximum"), s), 9);
  assert.equal(feed(field("strategy=maximum\nexclude_paused=true"), s), 4);
  assert.equal(feed(field("strategy=minimum"), s), 2);
  assert.equal(feed(field("strategy=minimum\ninit_tracker=true"), s, 1), 1);
});

test("a reading that would take a sum or an average past the finite numbers is dropped; the value stays a number", () => {
  const huge: [number, boolean, boolean][] = [[5, true, false], [1e308, true, false], [-1e308, true, false], [7, true, false]];
  // -1e308 after 1e308 would make the sum -Infinity (stored as null): dropped, as is 7 after it.
  assert.equal(feed(field("strategy=delta"), huge), 1e308);
  assert.equal(feed(field("strategy=accumulate"), [[1e308, true, false], [1e308, true, false], [-1e308, true, false]]), 0);
  assert.equal(feed(field("strategy=average"), [[1e308, true, false], [1e308, true, false], [4, true, false]]), (1e308 + 4) / 2);
});

test("collect keeps unique values, at most 100, dropping the oldest", () => {
  const f = field("strategy=collect");
  assert.deepEqual(feed(f, [[1, true, false], [2, true, false], [1, true, false]]), [1, 2]);
  const many = Array.from({ length: 150 }, (_, i) => [i, true, false] as [number, boolean, boolean]);
  const v = feed(f, many) as number[];
  assert.equal(v.length, COLLECT_MAX);
  assert.equal(v[0], 50);
  assert.equal(v[99], 149);
});

test("precision rounds the reported value", () => {
  assert.equal(feed(field("strategy=delta\nprecision=2"), [[0, true, false], [1.23456, true, false]]), 1.23);
});

test("field options: defaults, bad values name the key, unknown options warn", () => {
  const warnings: string[] = [];
  const f = parseHistoryField("sensor x", "power", "parameter=energy\nunits=kWh\nbogus=1", "[sensor x] history_field_power", warnings);
  assert.equal(f.strategy, "basic");
  assert.equal(f.desc, "power");
  assert.equal(f.parameter, "energy");
  assert.match(warnings[0]!, /unknown option 'bogus'/);
  assert.throws(() => parseHistoryField("sensor x", "p", "strategy=median", "[sensor x] history_field_p", []), /strategy: expected one of basic/);
  assert.throws(() => parseHistoryField("sensor x", "p", "report_total=maybe", "[sensor x] history_field_p", []), /report_total: expected true or false, got 'maybe'/);
  assert.throws(() => parseHistoryField("sensor x", "p", "precision=-1", "[sensor x] history_field_p", []), /precision/);
});

test("aux totals across several jobs: report_total sums, report_maximum keeps the largest, precision applies, reset zeroes", async (t) => {
  const dir = await tempDir(t);
  const specs = [
    { provider: "sensor t", field: "energy", reportTotal: true, reportMaximum: true, precision: 3 },
    { provider: "sensor t", field: "avg", reportTotal: false, reportMaximum: true, precision: null },
    { provider: "sensor t", field: "state", reportTotal: false, reportMaximum: false, precision: null },
  ];
  const store = await HistoryStore.open(dir, { logger: silentLogger, auxTotalSpecs: specs });
  assert.deepEqual(store.totals().auxiliary_totals, [
    { provider: "sensor t", field: "energy", maximum: 0, total: 0 },
    { provider: "sensor t", field: "avg", maximum: 0, total: null },
  ]);
  const aux = (energy: number, avg: number) => [
    { provider: "sensor t", name: "energy", value: energy, description: "e", units: "kWh" },
    { provider: "sensor t", name: "avg", value: avg, description: "a", units: "A" },
    { provider: "sensor t", name: "state", value: 2, description: "s", units: null },
  ];
  for (const [i, [e, a]] of [[0.1234, 1.5], [0.5, 2.5], [0.2001, 0.5]].entries()) {
    const j = await store.startJob({ filename: `${i}.gcode`, start_time: i * 100 });
    await store.finishJob(j.job_id, i === 1 ? "cancelled" : "completed", i * 100 + 50, { auxiliary_data: aux(e!, a!) }, "t");
  }
  assert.deepEqual(store.totals().auxiliary_totals, [
    { provider: "sensor t", field: "energy", maximum: 0.5, total: 0.823 },
    { provider: "sensor t", field: "avg", maximum: 2.5, total: null },
  ]);
  const last = await store.resetTotals();
  assert.equal(last.last_auxiliary_totals[0]!.total, 0.823);
  assert.deepEqual(store.totals().auxiliary_totals, [
    { provider: "sensor t", field: "energy", maximum: 0, total: 0 },
    { provider: "sensor t", field: "avg", maximum: 0, total: null },
  ]);
  await store.close();
  const again = await HistoryStore.open(dir, { logger: silentLogger, auxTotalSpecs: specs });
  assert.equal(again.totals().auxiliary_totals[0]!.total, 0);
  await again.close();
});

test("start values per strategy as Moonraker's trackers: numbers, never null, before the first reading", () => {
  const start = (spec: string, init?: unknown) => feed(field(spec), [], init);
  for (const s of ["delta", "accumulate", "average", "maximum", "minimum"]) {
    assert.equal(start(`strategy=${s}`), 0, s);
    assert.equal(start(`strategy=${s}\ninit_tracker=true`), 0, `${s} with init_tracker and no reading`);
  }
  assert.deepEqual(start("strategy=collect"), []);
  assert.equal(start("strategy=basic\ninit_tracker=true"), 0);
  // init_tracker starts from the last reading (delta: counts from it).
  assert.equal(start("strategy=accumulate\ninit_tracker=true", 5), 5);
  assert.equal(start("strategy=maximum\ninit_tracker=true", 5), 5);
  assert.equal(start("strategy=basic\ninit_tracker=true", 7), 7);
  assert.equal(start("strategy=delta\ninit_tracker=true", 7), 0);
  // The start value of an average is replaced by the first sample, not averaged in.
  assert.equal(feed(field("strategy=average\ninit_tracker=true"), [[4, true, false], [2, true, false]], 100), 3);
  // maximum/minimum: the first sample replaces the 0 start even when it is lower (or higher).
  assert.equal(feed(field("strategy=maximum"), [[-3, true, false], [-5, true, false]]), -3);
  assert.equal(feed(field("strategy=minimum"), [[3, true, false], [5, true, false]]), 3);
});

test("basic without init_tracker keeps the previous job's value across a reset (Moonraker's BasicTracker)", () => {
  const t = newTracker(field("strategy=basic"));
  resetTracker(t);
  sampleTracker(t, 2, true, false);
  resetTracker(t);
  assert.equal(auxEntry(t).value, 2);
});
