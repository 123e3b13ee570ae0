// Delivery against a real Mosquitto: the retained last will after SIGKILL, finished jobs published
// after a broker outage (and a printlog restart) in order and once, no broker at start-up.

import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { applyIni } from "../../src/config/config.js";
import { startCli, tempDir } from "../helpers.js";
import { Broker, Watcher, mqttSection } from "../../scripts/mqtt-broker.js";
import { now, printlogOn } from "./setup.js";

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
