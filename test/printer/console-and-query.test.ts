// The read-only console and the query surface, through the real process and the virtual
// printer: read-only M-codes reach the printer and their answers the console; control is
// refused with 400 and a `!!` line and never reaches the printer; Klipper's query rules over
// HTTP GET, POST subscribe with connection_id, and JSON-RPC; hostile arguments get clear 400s.

import assert from "node:assert/strict";
import { test } from "node:test";
import { http, jsonBody, RpcClient, startInProcess } from "../helpers.js";
import { rig, rpcHttp, until } from "./support.js";

test("console and queries against a ready printer", { timeout: 180_000 }, async (t) => {
  const r = await rig(t, "marlin2", { plugged: true });
  const log = () => r.pl.output();
  const url = r.url();
  await until("ready", async () => (await http(`${url}/server/info`)).body.result.klippy_state === "ready", 40_000, log);
  const ws = await RpcClient.connect(url);
  t.after(() => ws.close());
  const responses = () => ws.messages.filter((m) => m.method === "notify_gcode_response").map((m) => m.params[0] as string);

  await t.test("a read-only query goes through printlog's queue and its answer to the console", async () => {
    const reply = await ws.call("printer.gcode.script", { script: "M114" });
    assert.equal(reply.result, "ok");
    await until("the M114 answer", () => responses().some((l) => l.startsWith("X:10.00 Y:20.00 Z:0.20")));
    assert.ok(r.vp.received.includes("M114"));
    const store = (await ws.call("server.gcode_store", { count: 1000 })).result.gcode_store as any[];
    assert.ok(store.some((e) => e.type === "command" && e.message === "M114"));
    assert.ok(store.some((e) => e.type === "response" && e.message.startsWith("X:10.00")));
    assert.ok(store.every((e) => typeof e.time === "number"));
    // Lower case and comments are fine; the firmware answer to M115 reaches the console too.
    assert.equal((await ws.call("printer.gcode.script", { script: "m115 ; who are you" })).result, "ok");
    await until("the M115 answer", () => responses().some((l) => l.includes("FIRMWARE_NAME:Marlin")));
  });

  await t.test("control is refused with 400 and a !! line, and never reaches the printer", async () => {
    const before = r.vp.received.length;
    const g28 = await ws.call("printer.gcode.script", { script: "G28" });
    assert.equal(g28.error.code, 400);
    assert.equal(g28.error.message, "printlog is read-only: G28 was not sent to the printer.");
    await until("the !! line", () => responses().includes(`!! ${g28.error.message}`));
    const mixed = await ws.call("printer.gcode.script", { script: "M105\nM104 S0" });
    assert.equal(mixed.error.code, 400, "a script with one control line is refused whole");
    const estop = await ws.call("printer.emergency_stop");
    assert.equal(estop.error.code, 400);
    assert.match(estop.error.message, /NOT stopped/);
    const m112 = await ws.call("printer.gcode.script", { script: "M112" });
    assert.match(m112.error.message, /NOT stopped/);
    for (const method of ["printer.print.start", "printer.print.pause", "printer.print.resume", "printer.print.cancel", "printer.restart", "printer.firmware_restart"]) {
      const reply = await ws.call(method, { filename: "x.gcode", service: "klipper" });
      assert.equal(reply.error?.code, 400, method);
      assert.match(reply.error.message, /^printlog is read-only/);
    }
    const httpPause = await http(`${url}/printer/print/pause`, { method: "POST" });
    assert.equal(httpPause.status, 400);
    assert.match(httpPause.body.error.message, /read-only/);
    const sent = r.vp.received.slice(before);
    assert.ok(!sent.some((c) => /^(G28|M104|M112|M24|M25|M524|M999)/.test(c)), sent.join(","));
    const store = (await ws.call("server.gcode_store")).result.gcode_store as any[];
    assert.ok(store.some((e) => e.type === "command" && e.message === "G28"), "refused commands are kept");
  });

  await t.test("Klipper's query rules over HTTP GET and JSON-RPC", async () => {
    const q = (await http(`${url}/printer/objects/query?webhooks&print_stats=state,filename,no_such_field&no_such_object`)).body.result;
    assert.equal(q.status.webhooks.state, "ready");
    assert.deepEqual(Object.keys(q.status.print_stats).sort(), ["filename", "no_such_field", "state"]);
    assert.equal(q.status.print_stats.no_such_field, null);
    assert.deepEqual(q.status.no_such_object, {});
    const rpc = await rpcHttp(url, { jsonrpc: "2.0", method: "printer.objects.query", params: { objects: { toolhead: ["position", "homed_axes"], fan: ["speed"] } }, id: 7 });
    assert.deepEqual(rpc.result.status.toolhead.homed_axes, "");
    assert.equal(rpc.result.status.toolhead.position.length, 4);
    assert.deepEqual(rpc.result.status.fan, { speed: null });
    const gcode = (await ws.call("printer.objects.query", { objects: { gcode: ["commands"] } })).result.status.gcode;
    assert.ok(gcode.commands.M105);
    // moonraker-client queries with a POST and a JSON body, which Moonraker accepts too.
    const post = await http(`${url}/printer/objects/query`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ objects: { webhooks: ["state"] } }) });
    assert.equal(post.status, 200, JSON.stringify(post.body));
    assert.equal(post.body.result.status.webhooks.state, "ready");
  });

  await t.test("HTTP subscribe with a WebSocket's connection_id pushes changed fields to it", async () => {
    const other = await RpcClient.connect(url);
    t.after(() => other.close());
    const id = (await other.call("server.websocket.id")).result.websocket_id;
    const sub = await http(`${url}/printer/objects/subscribe?connection_id=${id}&toolhead=estimated_print_time`, { method: "POST" });
    assert.equal(sub.status, 200);
    assert.equal(typeof sub.body.result.status.toolhead.estimated_print_time, "number");
    const m = await other.waitFor((x) => x.method === "notify_status_update", 10_000);
    assert.deepEqual(Object.keys(m.params[0]), ["toolhead"]);
    assert.deepEqual(Object.keys(m.params[0].toolhead), ["estimated_print_time"]);
    // {} cancels it.
    await other.call("printer.objects.subscribe", { objects: {} });
    const n = other.messages.length;
    await new Promise((res) => setTimeout(res, 2500));
    assert.equal(other.messages.slice(n).filter((x) => x.method === "notify_status_update").length, 0);
    const bad = await http(`${url}/printer/objects/subscribe?connection_id=999999&toolhead`, { method: "POST" });
    assert.equal(bad.status, 400);
  });

  await t.test("hostile arguments: clear 400s, the process keeps serving", async () => {
    const cases: unknown[] = [
      { objects: "webhooks" },
      { objects: ["webhooks"] },
      { objects: { webhooks: [1, 2] } },
      { objects: { webhooks: "state" } },
      { objects: { ["x".repeat(500)]: null } },
      { objects: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`o${i}`, null])) },
    ];
    for (const params of cases) {
      const reply = await ws.call("printer.objects.query", params);
      assert.equal(reply.error?.code, 400, JSON.stringify(params).slice(0, 80));
    }
    assert.equal((await http(`${url}/printer/objects/query?__proto__`)).status, 400);
    assert.equal((await ws.call("printer.gcode.script", {})).error.code, 400);
    assert.equal((await ws.call("printer.gcode.script", { script: { a: 1 } })).error.code, 400);
    assert.equal((await ws.call("server.gcode_store", { count: "many" })).error.code, 400);
    const body = await http(`${url}/printer/objects/subscribe`, { ...jsonBody({ objects: { webhooks: null } }) });
    assert.equal(body.status, 200, "HTTP subscribe without a connection answers like a query");
    assert.equal((await http(`${url}/server/info`)).status, 200);
  });
});

test("no printer configured: klippy_connected false, printer.* 503, stores empty", async () => {
  const s = await startInProcess();
  try {
    const info = (await http(`${s.url}/server/info`)).body.result;
    assert.equal(info.klippy_connected, false);
    assert.equal(info.klippy_state, "disconnected");
    assert.equal((await http(`${s.url}/printer/info`)).status, 503);
    assert.deepEqual((await http(`${s.url}/server/temperature_store`)).body.result, {});
    assert.deepEqual((await http(`${s.url}/server/gcode_store`)).body.result, { gcode_store: [] });
    assert.equal((await http(`${s.url}/printer/emergency_stop`, { method: "POST" })).status, 400);
    const cfg = (await http(`${s.url}/server/config`)).body.result.config;
    assert.deepEqual(cfg.data_store, { temperature_store_size: 1200, gcode_store_size: 1000 });
  } finally {
    await s.close();
  }
});
