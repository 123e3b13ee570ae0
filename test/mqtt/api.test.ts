// JSON-RPC over MQTT against a real Mosquitto: answers exactly as the WebSocket does, the same
// notifications, hostile requests, and enable_moonraker_api: false.

import assert from "node:assert/strict";
import { test } from "node:test";
import { RpcClient } from "../helpers.js";
import { Broker, Watcher } from "../../scripts/mqtt-broker.js";
import { now, printlogOn } from "./setup.js";

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

test("enable_moonraker_api: false answers nothing and publishes no notifications, but still reports status and jobs", async (t) => {
  const broker = await Broker.start();
  t.after(() => broker.close());
  const w = await Watcher.connect(broker.url, ["p8/#"]);
  t.after(() => w.close());
  const pl = await printlogOn(broker, "p8", ["enable_moonraker_api: false"]);
  t.after(() => pl.close());
  await w.until((all) => all.some((m) => m.topic === "p8/moonraker/status" && m.json?.server === "online"), "online");
  await w.until(() => pl.app.mqtt!.subscribed, "printlog ready");
  await w.client.publishAsync("p8/moonraker/api/request", JSON.stringify({ jsonrpc: "2.0", method: "server.info", id: 1 }));
  const job = await pl.app.store.startJob({ filename: "x.gcode", start_time: now() });
  await pl.app.store.finishJob(job.job_id, "completed", now(), {}, "test");
  await w.until((all) => all.some((m) => m.topic === "p8/printlog/last_job"), "the finished job");
  await new Promise((r) => setTimeout(r, 1000)); // an answer would have arrived before the job
  assert.deepEqual(w.on("p8/moonraker/api/response"), []);
  assert.deepEqual(w.on("p8/moonraker/api/notification"), []);
});
