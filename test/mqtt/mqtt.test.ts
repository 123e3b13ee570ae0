// printlog against a real Mosquitto: JSON-RPC over MQTT answers as the WebSocket does, the same
// notifications arrive, status and last will, finished jobs survive a broker outage, mqtt
// sensors feed the history, Home Assistant discovery.

import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { applyIni } from "../../src/config/config.js";
import { RpcClient, startCli, startInProcess, tempDir } from "../helpers.js";
import { Broker, Watcher, mqttSection } from "../../scripts/mqtt-broker.js";

const now = () => Date.now() / 1000;

async function printlogOn(broker: Broker, instance: string, extra: string[] = [], more = "") {
  return startInProcess((c) => applyIni(c, mqttSection(broker.port, instance, extra) + more, "test.cfg"));
}

test("JSON-RPC over MQTT answers exactly as the WebSocket does, errors included", async (t) => {
  const broker = await Broker.start();
  t.after(() => broker.close());
  const pl = await printlogOn(broker, "p1", ["username: farm", "password: hunter2-secret"]);
  t.after(() => pl.close());
  const job = await pl.app.store.startJob({ filename: "cube.gcode", start_time: now() - 60 });
  await pl.app.store.finishJob(job.job_id, "completed", now(), { filament_used: 120 }, "test");
  const w = await Watcher.connect(broker.url, ["p1/moonraker/api/response"]);
  t.after(() => w.close());
  await w.until(() => pl.app.mqtt!.subscribed, "printlog subscribed to the request topic");
  const ws = await RpcClient.connect(pl.url);
  t.after(() => ws.close());
  const calls: [string, unknown][] = [
    ["server.history.list", { limit: 10 }],
    ["server.history.totals", undefined],
    ["server.history.get_job", { uid: job.job_id }],
    ["server.history.get_job", { uid: "zz" }],
    ["server.history.get_job", { uid: "00FFFF" }],
    ["server.sensors.list", undefined],
    ["server.config", undefined],
    ["no.such.method", undefined],
  ];
  let id = 100;
  for (const [method, params] of calls) {
    id++;
    const viaWs = await ws.call(method, params, id);
    await w.client.publishAsync("p1/moonraker/api/request", JSON.stringify({ jsonrpc: "2.0", method, ...(params ? { params } : {}), id }));
    const [reply] = await w.until((all) => all.some((m) => m.json?.id === id), `the answer to ${method}`).then((all) => all.filter((m) => m.json?.id === id));
    assert.deepEqual(reply!.json, viaWs, `${method} over MQTT`);
  }
  // A garbled request gets the parse error; a notification (no id) gets no answer.
  await w.client.publishAsync("p1/moonraker/api/request", "{not json");
  await w.until((all) => all.some((m) => m.json?.error?.code === -32700), "the parse error");
  // Moonraker screens a retried request by its mqtt_timestamp.
  const dup = { jsonrpc: "2.0", method: "server.history.totals", params: { mqtt_timestamp: 12345.5 }, id: 900 };
  await w.client.publishAsync("p1/moonraker/api/request", JSON.stringify(dup));
  await w.client.publishAsync("p1/moonraker/api/request", JSON.stringify({ ...dup, id: 901 }));
  const replies = await w.until((all) => all.some((m) => m.json?.id === 901), "the duplicate's answer");
  assert.ok(replies.find((m) => m.json?.id === 900)?.json.result, "first request answered");
  assert.equal(replies.find((m) => m.json?.id === 901)?.json.error?.code, -10000);
  assert.ok(!w.messages.some((m) => m.text.includes("hunter2")), "the broker password is never served");
  await w.client.publishAsync("p1/moonraker/api/request", JSON.stringify({ jsonrpc: "2.0", method: "server.history.reset_totals", id: 903 }));
  const reset = await w.until((all) => all.some((m) => m.json?.id === 903), "the reset answer");
  assert.equal(reset.find((m) => m.json?.id === 903)!.json.result.last_totals.total_jobs, 1);
  assert.equal(pl.app.store.totals().job_totals.total_jobs, 0);
  // A deletion over MQTT is a real deletion.
  await w.client.publishAsync("p1/moonraker/api/request", JSON.stringify({ jsonrpc: "2.0", method: "server.history.delete_job", params: { uid: job.job_id }, id: 902 }));
  const del = await w.until((all) => all.some((m) => m.json?.id === 902), "the delete answer");
  assert.deepEqual(del.find((m) => m.json?.id === 902)!.json.result, { deleted_jobs: [job.job_id] });
  assert.equal(pl.app.store.getJob(job.job_id), undefined);
});

test("notifications reach MQTT with the WebSocket's payloads; status online then offline on stop", async (t) => {
  const broker = await Broker.start();
  t.after(() => broker.close());
  const w = await Watcher.connect(broker.url, ["p2/moonraker/api/notification", "p2/moonraker/status"]);
  t.after(() => w.close());
  const pl = await printlogOn(broker, "p2");
  await w.until((all) => all.some((m) => m.topic === "p2/moonraker/status" && m.json?.server === "online"), "online status");
  const ws = await RpcClient.connect(pl.url);
  t.after(() => ws.close());
  const job = await pl.app.store.startJob({ filename: "vase.gcode", start_time: now() });
  await pl.app.store.finishJob(job.job_id, "cancelled", now(), {}, "test");
  pl.app.bus.notify("notify_status_update", [{ print_stats: { state: "standby" } }, 12.5]);
  const got = await w.until((all) => all.filter((m) => m.topic.endsWith("notification")).length >= 3, "three notifications");
  const mqttNotes = got.filter((m) => m.topic.endsWith("notification")).map((m) => m.json);
  const wsNotes = await Promise.all([
    ws.waitFor((m) => m.method === "notify_history_changed" && m.params[0].action === "added"),
    ws.waitFor((m) => m.method === "notify_history_changed" && m.params[0].action === "finished"),
    ws.waitFor((m) => m.method === "notify_status_update"),
  ]);
  assert.deepEqual(mqttNotes, wsNotes);
  await pl.close();
  await w.until((all) => all.filter((m) => m.topic === "p2/moonraker/status").at(-1)?.json?.server === "offline", "offline on stop");
});

test("the retained last will says offline after printlog is killed", async (t) => {
  const broker = await Broker.start();
  t.after(() => broker.close());
  const dir = await tempDir(t);
  const cfg = join(dir, "printlog.cfg");
  await writeFile(cfg, ["[server]", "host: 127.0.0.1", "port: 0", `data_dir: ${join(dir, "data")}`, "[printer]", "device: none", mqttSection(broker.port, "killed")].join("\n"));
  const pl = await startCli(["serve", "--config", cfg]);
  t.after(() => pl.stop("SIGKILL"));
  await pl.waitFor(/mqtt\.connected/);
  const before = await Watcher.connect(broker.url, ["killed/moonraker/status"]);
  await before.until((all) => all.some((m) => m.json?.server === "online"), "retained online");
  await before.close();
  await pl.stop("SIGKILL");
  // A subscriber arriving later still reads offline: the will is retained.
  const w = await Watcher.connect(broker.url, ["killed/moonraker/status"]);
  t.after(() => w.close());
  const msgs = await w.until((all) => all.some((m) => m.json?.server === "offline"), "the last will");
  assert.ok(msgs.find((m) => m.json?.server === "offline")!.retain, "the last will is retained");
});

test("jobs finished while the broker is down are published when it returns, in order, once", async (t) => {
  const broker = await Broker.start(true);
  t.after(() => broker.close());
  // A persistent session: the broker keeps this subscriber's QoS 1 messages while it is away.
  const w = await Watcher.connect(broker.url, ["p3/printlog/last_job"], { clientId: "farm-watcher", clean: false });
  t.after(() => w.close());
  const pl = await printlogOn(broker, "p3");
  t.after(() => pl.close());
  const first = await pl.app.store.startJob({ filename: "a.gcode", start_time: now() });
  await pl.app.store.finishJob(first.job_id, "completed", now(), {}, "test");
  await w.until((all) => all.length === 1, "the first job");
  await broker.down();
  await w.until(() => !pl.app.mqtt!.connected, "printlog to notice the broker is gone");
  const statuses = ["completed", "cancelled", "error"] as const;
  const ids: string[] = [];
  for (const status of statuses) {
    const j = await pl.app.store.startJob({ filename: `${status}.gcode`, start_time: now() });
    await pl.app.store.finishJob(j.job_id, status, now(), {}, "test");
    ids.push(j.job_id);
  }
  await broker.up();
  const all = await w.until((m) => m.length >= 4, "the three jobs finished during the outage", 30_000);
  await new Promise((r) => setTimeout(r, 500)); // room for a duplicate to show up
  assert.deepEqual(w.messages.map((m) => m.json.job.job_id), [first.job_id, ...ids]);
  assert.deepEqual(all.slice(1).map((m) => m.json.job.status), [...statuses]);
  assert.equal(all[0]!.json.instance_name, "p3");
  // A subscriber that was never there reads the newest job, retained.
  const late = await Watcher.connect(broker.url, ["p3/printlog/last_job"]);
  t.after(() => late.close());
  const got = await late.until((m) => m.length >= 1, "the retained last job");
  assert.equal(got[0]!.json.job.job_id, ids.at(-1));
  assert.ok(got[0]!.retain);
});

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

test("jobs finished while the broker was down are published after a printlog restart too", async (t) => {
  const { defaultConfig } = await import("../../src/config/config.js");
  const { startPrintlog } = await import("../../src/main.js");
  const { silentLogger } = await import("../../src/log.js");
  const broker = await Broker.start(true);
  t.after(() => broker.close());
  const dir = await tempDir(t);
  const start = async () => {
    const c = defaultConfig();
    c.server.host = "127.0.0.1";
    c.server.port = 0;
    c.server.dataDir = dir;
    c.printer.device = "none";
    applyIni(c, mqttSection(broker.port, "p6"), "test.cfg");
    return startPrintlog(c, process.env["MQTT_DEBUG"] ? (await import("../../src/log.js")).createLogger((l) => console.error(l), "debug") : silentLogger);
  };
  const w = await Watcher.connect(broker.url, ["p6/printlog/last_job"], { clientId: "restart-watcher", clean: false });
  t.after(() => w.close());
  let app = await start();
  const a = await app.store.startJob({ filename: "a.gcode", start_time: now() });
  await app.store.finishJob(a.job_id, "completed", now(), {}, "test");
  await w.until((all) => all.length === 1, "the first job");
  await broker.down();
  await w.until(() => !app.mqtt!.connected, "printlog to notice the broker is gone");
  const b = await app.store.startJob({ filename: "b.gcode", start_time: now() });
  await app.store.finishJob(b.job_id, "cancelled", now(), {}, "test");
  // Stopped while a job runs: it is finished as server_exit, and that is pending as well.
  const c = await app.store.startJob({ filename: "c.gcode", start_time: now() });
  await app.stop("test restart");
  await broker.up();
  app = await start();
  t.after(() => app.stop("test over"));
  await w.until((all) => all.length >= 3, "the jobs finished during the outage", 30_000);
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(w.messages.map((m) => [m.json.job.job_id, m.json.job.status]), [
    [a.job_id, "completed"],
    [b.job_id, "cancelled"],
    [c.job_id, "server_exit"],
  ]);
});

test("hostile requests over MQTT: oversized, binary, batches and floods get answers or are dropped, never a crash", async (t) => {
  const broker = await Broker.start();
  t.after(() => broker.close());
  const pl = await printlogOn(broker, "p7");
  t.after(() => pl.close());
  const w = await Watcher.connect(broker.url, ["p7/moonraker/api/response"]);
  t.after(() => w.close());
  await w.until(() => pl.app.mqtt!.subscribed, "printlog subscribed");
  const req = "p7/moonraker/api/request";
  await w.client.publishAsync(req, Buffer.alloc(2 * 1024 * 1024, 0x7b));
  await w.until((all) => all.some((m) => m.json?.error?.code === -32600 && /larger than/.test(m.json.error.message)), "the oversized request refused");
  await w.client.publishAsync(req, Buffer.from([0xff, 0xfe, 0x00, 0x80]));
  await w.until((all) => all.some((m) => m.json?.error?.code === -32700), "binary garbage is a parse error");
  await w.client.publishAsync(req, JSON.stringify([{ jsonrpc: "2.0", method: "server.history.totals", id: "b1" }, { jsonrpc: "2.0", method: "nope", id: "b2" }, 7]));
  const batch = await w.until((all) => all.some((m) => Array.isArray(m.json)), "the batch answer");
  const answers = batch.find((m) => Array.isArray(m.json))!.json;
  assert.deepEqual(answers.map((a: any) => a.id), ["b1", "b2", null]);
  assert.equal(answers[1].error.code, -32601);
  assert.equal(answers[2].error.code, -32600);
  await w.client.publishAsync(req, JSON.stringify({ jsonrpc: "2.0", method: "server.connection.identify", params: { client_name: "x", version: "1", type: "web", url: "u" }, id: "ident" }));
  const ident = await w.until((all) => all.some((m) => m.json?.id === "ident"), "identify answered");
  assert.equal(ident.find((m) => m.json?.id === "ident")!.json.error.code, 400);
  // A flood: more requests than are queued (100); the excess is dropped, and printlog keeps
  // answering afterwards.
  await Promise.all(Array.from({ length: 400 }, (_, i) => w.client.publishAsync(req, JSON.stringify({ jsonrpc: "2.0", method: "server.history.list", params: { limit: 1 }, id: `f${i}` }))));
  const flood = () => w.messages.filter((m) => String(m.json?.id).startsWith("f")).length;
  await w.until(() => flood() >= 100, "the queued part of the flood answered", 30_000);
  let settled = -1;
  while (settled !== flood()) {
    settled = flood();
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(settled >= 100 && settled <= 400, `${settled} answers`);
  await w.client.publishAsync(req, JSON.stringify({ jsonrpc: "2.0", method: "server.info", id: "after" }));
  const after = await w.until((all) => all.some((m) => m.json?.id === "after"), "an answer after the flood", 30_000);
  assert.equal(after.find((m) => m.json?.id === "after")!.json.result.moonraker_version.includes("printlog"), true);
});

test("no broker at start-up: printlog serves as usual, logs the problem sparingly, and connects when the broker appears", async (t) => {
  const { freePort } = await import("../../scripts/mqtt-broker.js");
  const { http } = await import("../helpers.js");
  const port = await freePort();
  const dir = await tempDir(t);
  const cfg = join(dir, "printlog.cfg");
  await writeFile(cfg, ["[server]", "host: 127.0.0.1", "port: 0", `data_dir: ${join(dir, "data")}`, "[printer]", "device: none", mqttSection(port, "late")].join("\n"));
  const pl = await startCli(["serve", "--config", cfg]);
  t.after(() => pl.stop("SIGKILL"));
  const r = await http(`${pl.url}/server/history/totals`);
  assert.equal(r.status, 200);
  await pl.waitFor(/mqtt\.error .*ECONNREFUSED/);
  await new Promise((r) => setTimeout(r, 5000)); // two more reconnect attempts
  assert.equal(pl.output().match(/mqtt\.error/g)!.length, 1, "one line for a repeated error");
  const broker = await Broker.start(false, port);
  t.after(() => broker.close());
  await pl.waitFor(/mqtt\.connected/, 20_000);
  const w = await Watcher.connect(broker.url, ["late/moonraker/status"]);
  t.after(() => w.close());
  await w.until((all) => all.some((m) => m.json?.server === "online"), "online");
  assert.equal(await pl.stop("SIGTERM"), 0);
  await w.until((all) => all.at(-1)?.json?.server === "offline", "offline after a clean stop");
});
