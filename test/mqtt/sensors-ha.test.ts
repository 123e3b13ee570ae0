// [sensor] type: mqtt readings into the history, and Home Assistant discovery, against a real
// Mosquitto.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Broker, Watcher } from "../../scripts/mqtt-broker.js";
import { now, printlogOn } from "./setup.js";

test("[sensor] type: mqtt feeds the history fields from a JSON path per parameter", async (t) => {
  const broker = await Broker.start();
  t.after(() => broker.close());
  const sensor = [
    "[sensor plug]",
    "type: mqtt",
    "state_topic: tele/plug/SENSOR",
    "parameter_energy:",
    "  path=ENERGY.Total",
    "  units=kWh",
    "parameter_power:",
    "  path=ENERGY.Power",
    "history_field_energy_used:",
    "  parameter=energy",
    "  strategy=delta",
    "  units=kWh",
    "history_field_peak_power:",
    "  parameter=power",
    "  strategy=maximum",
    "",
  ].join("\n");
  const pl = await printlogOn(broker, "p4", [], sensor);
  t.after(() => pl.close());
  const w = await Watcher.connect(broker.url, []);
  t.after(() => w.close());
  await w.until(() => pl.app.mqtt!.subscribed, "printlog subscribed to the sensor topic");
  const job = await pl.app.store.startJob({ filename: "plugged.gcode", start_time: now() - 1 });
  const send = (total: unknown, power: unknown) => w.client.publishAsync("tele/plug/SENSOR", JSON.stringify({ ENERGY: { Total: total, Power: power } }), { qos: 1 });
  await send(10.5, 100);
  await send("11.25", 240); // numbers as strings are numbers
  await w.client.publishAsync("tele/plug/SENSOR", "garbage", { qos: 1 }); // refused, logged, ignored
  await send(12, 180);
  const until = Date.now() + 15_000;
  let aux: any[] = [];
  while (Date.now() < until) {
    aux = pl.app.store.getJob(job.job_id)!.auxiliary_data;
    if (aux.find((a) => a.name === "energy_used")?.value === 1.5) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(aux.find((a) => a.name === "energy_used")?.value, 1.5);
  assert.equal(aux.find((a) => a.name === "peak_power")?.value, 240);
  const list = (await pl.app.table.rpc("server.sensors.list")!.handler(new (await import("../../src/api/args.js")).Args({}), { transport: "mqtt", ip: "" })) as any;
  assert.deepEqual(list.sensors.plug.values, { energy: 12, power: 180 });
});

test("Home Assistant discovery: retained entity configs and a state topic from the history", async (t) => {
  const broker = await Broker.start();
  t.after(() => broker.close());
  const pl = await printlogOn(broker, "p5", ["home_assistant_discovery: true", "status_interval: 0.5"]);
  t.after(() => pl.close());
  const job = await pl.app.store.startJob({ filename: "benchy.gcode", start_time: now() });
  await pl.app.store.updateJob(job.job_id, now(), { progress: 0.425 });
  const w = await Watcher.connect(broker.url, ["homeassistant/sensor/printlog_p5/+/config", "p5/printlog/state"]);
  t.after(() => w.close());
  const got = await w.until((all) => all.filter((m) => m.topic.endsWith("/config")).length >= 9 && all.some((m) => m.json?.progress === 42.5), "discovery and state");
  const configs = got.filter((m) => m.topic.endsWith("/config"));
  assert.ok(configs.every((m) => m.retain && m.json.state_topic === "p5/printlog/state" && m.json.availability_topic === "p5/moonraker/status"));
  assert.deepEqual(configs.map((m) => m.json.unique_id).sort(), [
    "printlog_p5_filename", "printlog_p5_last_job_filename", "printlog_p5_last_job_status", "printlog_p5_longest_print", "printlog_p5_progress",
    "printlog_p5_state", "printlog_p5_total_filament_used", "printlog_p5_total_jobs", "printlog_p5_total_print_time",
  ]);
  const state = got.filter((m) => m.topic === "p5/printlog/state").at(-1)!.json;
  assert.equal(state.state, "printing");
  assert.equal(state.filename, "benchy.gcode");
  await pl.app.store.pauseJob(job.job_id, now(), {}, "test");
  await w.until((all) => all.some((m) => m.json?.state === "paused"), "paused state");
  await pl.app.store.finishJob(job.job_id, "completed", now(), { print_duration: 100 }, "test");
  const after = await w.until((all) => all.some((m) => m.json?.state === "standby" && m.json.total_jobs === 1), "standby with totals");
  const last = after.filter((m) => m.topic === "p5/printlog/state").at(-1)!.json;
  assert.equal(last.last_job_status, "completed");
  assert.equal(last.progress, null);
});
