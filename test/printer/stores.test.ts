// The pure pieces behind notify_status_update and the data stores: per-connection diffs, the
// temperature store's bounds and rounding, the G-code FIFO, and the print_stats state mapping.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Subscriptions } from "../../src/printer/subscriptions.js";
import { GcodeStore, TemperatureStore } from "../../src/printer/stores.js";
import { printState, queryObjects, type StatusInputs } from "../../src/printer/objects.js";
import { newPrinterModel } from "../../src/printer/model.js";

test("subscriptions: each connection gets only its own changed fields, never an empty update", () => {
  const subs = new Subscriptions();
  const status = (t: number, temp: number) => ({ toolhead: { estimated_print_time: t, max_velocity: 300 }, extruder: { temperature: temp, target: 210 } });
  subs.set(1, { toolhead: null, extruder: ["temperature"] }, status(1, 200));
  subs.set(2, { extruder: ["target"] }, status(1, 200));
  let c = subs.changes(status(2, 200));
  assert.deepEqual(c.get(1), { toolhead: { estimated_print_time: 2 } });
  assert.equal(c.has(2), false, "no empty update");
  c = subs.changes(status(3, 201.5));
  assert.deepEqual(c.get(1), { toolhead: { estimated_print_time: 3 }, extruder: { temperature: 201.5 } });
  assert.equal(c.has(2), false);
  const hostile = new Subscriptions();
  hostile.set(9, { constructor: ["name"], toString: null }, {});
  assert.equal(hostile.changes(status(4, 200)).size, 0, "prototype names are not objects");
  subs.set(1, {}, {});
  assert.deepEqual(subs.connections(), [2], "{} cancels");
  const nested = new Subscriptions();
  nested.set(3, { print_stats: ["info"] }, { print_stats: { info: { total_layer: null, current_layer: null } } });
  assert.equal(nested.changes({ print_stats: { info: { total_layer: null, current_layer: null } } }).size, 0, "equal nested values are unchanged");
  assert.deepEqual(nested.changes({ print_stats: { info: { total_layer: 10, current_layer: 1 } } }).get(3), { print_stats: { info: { total_layer: 10, current_layer: 1 } } });
});

test("the temperature store keeps 1200 samples per sensor, rounded, oldest first", () => {
  const store = new TemperatureStore();
  assert.deepEqual(store.toJSON(), {}, "a sensor is absent until its first reading");
  for (let i = 0; i < 1300; i++) store.sample({ extruder: { temperature: i + 0.123, target: 210, power: 0.31496 } });
  const s = store.toJSON()["extruder"]!;
  assert.equal(s.temperatures.length, 1200);
  assert.equal(s.temperatures[0], 100.12);
  assert.equal(s.temperatures.at(-1), 1299.12);
  assert.equal(s.powers[0], 0.31);
  const g = new GcodeStore(3);
  for (const m of ["a", "b", "c", "d"]) g.add(m, "response", 1);
  assert.deepEqual(g.last().map((e) => e.message), ["b", "c", "d"]);
  assert.deepEqual(g.last(1).map((e) => e.message), ["d"]);
  assert.deepEqual(g.last(0), []);
});

test("print_stats states from the history, and Klipper's query rule", () => {
  const job = { filename: "a.gcode", print_duration: 1, total_duration: 2, filament_used: 3, progress: 0.5, paused: false, size: 100, error_message: null, end_time: null, pausedAt: null, layers: null };
  assert.equal(printState(null), "standby");
  assert.equal(printState({ ...job, status: "in_progress" }), "printing");
  assert.equal(printState({ ...job, status: "in_progress", paused: true }), "paused");
  assert.equal(printState({ ...job, status: "completed" }), "complete");
  assert.equal(printState({ ...job, status: "cancelled" }), "cancelled");
  assert.equal(printState({ ...job, status: "klippy_shutdown" }), "error");
  assert.equal(printState({ ...job, status: "server_exit" }), "standby");
  const inputs: StatusInputs = { model: newPrinterModel("/dev/x", 0), job: null, now: 0, eventtime: 1, host: { sysload: 0, cputime: 0, memavail: 0 }, softwareVersion: "t" };
  const q = queryObjects({ print_stats: ["state", "constructor", "nope"], nothing: null, nothing2: ["a"] }, inputs);
  assert.deepEqual(q["print_stats"], { state: "standby", constructor: null, nope: null });
  assert.deepEqual(q["nothing"], {});
  assert.deepEqual(q["nothing2"], { a: null });
  const model = newPrinterModel("/dev/x", 0);
  model.position = [10, 20, 1.0, 5];
  const layered = queryObjects({ print_stats: ["info"] }, { ...inputs, model, job: { ...job, status: "in_progress", layers: { objectHeight: 10.2, layerHeight: 0.2, firstLayerHeight: 0.2 } } });
  assert.deepEqual(layered["print_stats"], { info: { total_layer: 51, current_layer: 5 } });
});
