// The pure parts of MQTT: the [mqtt] section, mqtt sensors, JSON paths, and which finished jobs
// are still to be published.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, applyIni, defaultConfig } from "../../src/config/config.js";
import { loadSensorConfig } from "../../src/aux/config.js";
import { loadMqttConfig } from "../../src/mqtt/config.js";
import { loadMqttSensors } from "../../src/mqtt/sensor-config.js";
import { coerceValue, parsePath, parsePayload, pick } from "../../src/mqtt/json-path.js";
import { pendingJobs, readMark, writeMark } from "../../src/mqtt/finished-jobs.js";
import type { JobRecord } from "../../src/history/types.js";
import { startInProcess, tempDir } from "../helpers.js";
import { join } from "node:path";
import { writeFile } from "node:fs/promises";

const cfg = (text: string) => applyIni(defaultConfig(), text, "t.cfg");

test("[mqtt]: Moonraker's option names and defaults", () => {
  const { mqtt, warnings } = loadMqttConfig(cfg("[mqtt]\naddress: broker.local\ninstance_name: mk3\nstatus_objects:\n  webhooks\nfoo: 1\n"));
  assert.ok(mqtt);
  assert.equal(mqtt.port, 1883);
  assert.equal(mqtt.protocol, 4);
  assert.equal(mqtt.defaultQos, 0);
  assert.equal(mqtt.apiQos, 0);
  assert.equal(mqtt.enableApi, true);
  assert.equal(mqtt.discovery, false);
  assert.equal(mqtt.discoveryPrefix, "homeassistant");
  assert.equal(mqtt.backlog, 1000);
  assert.match(warnings.join("\n"), /status_objects ignored/);
  assert.match(warnings.join("\n"), /unknown option 'mqtt.foo'/);
  assert.equal(loadMqttConfig(cfg("[server]\nport: 1\n")).mqtt, null);
  const v5 = loadMqttConfig(cfg("[mqtt]\naddress: 10.0.0.2\nport: 8883\nmqtt_protocol: v5\ndefault_qos: 1\napi_qos: 2\nenable_moonraker_api: false\nusername: u\npassword: p\n")).mqtt!;
  assert.deepEqual([v5.port, v5.protocol, v5.defaultQos, v5.apiQos, v5.enableApi, v5.username, v5.password], [8883, 5, 1, 2, false, "u", "p"]);
});

test("[mqtt]: bad values are errors that name the key and the value", async (t) => {
  const bad: [string, RegExp][] = [
    ["port: 1883", /mqtt\.address .* is required/],
    ["address: a b", /mqtt\.address/],
    ["address: x\nmqtt_protocol: v4", /mqtt_protocol: expected v3.1, v3.1.1 or v5, got 'v4'/],
    ["address: x\ninstance_name: farm/+", /instance_name/],
    ["address: x\ninstance_name: a#", /instance_name/],
    ["address: x\ndefault_qos: 3", /default_qos/],
    ["address: x\nstatus_interval: 0.1", /status_interval: 0 or at least 0.25/],
    ["address: x\nport: 70000", /mqtt\.port/],
    ["address: x\npassword_file: /nonexistent/pw", /password_file: cannot read/],
    ["address: x\nenable_moonraker_api: maybe", /enable_moonraker_api/],
  ];
  for (const [body, re] of bad) {
    assert.throws(() => loadMqttConfig(cfg(`[mqtt]\n${body}\n`)), (e: unknown) => e instanceof ConfigError && re.test(e.message), body);
  }
  const dir = await tempDir(t);
  await writeFile(join(dir, "pw"), "s3cret\n");
  assert.equal(loadMqttConfig(cfg(`[mqtt]\naddress: x\npassword_file: ${join(dir, "pw")}\n`)).mqtt!.password, "s3cret");
});

test("[sensor] type: mqtt: topic, paths, and clear errors; aux config accepts its options", () => {
  const text = "[sensor plug]\ntype: mqtt\nstate_topic: tele/plug/SENSOR\nqos: 1\nparameter_energy:\n  path=ENERGY.Total\n  units=kWh\nhistory_field_e:\n  parameter=energy\n  strategy=delta\nhistory_field_v:\n  parameter=voltage\n";
  const c = cfg(text);
  const [s] = loadMqttSensors(c);
  assert.deepEqual(s, {
    name: "plug",
    topic: "tele/plug/SENSOR",
    qos: 1,
    values: [
      { parameter: "energy", path: ["ENERGY", "Total"] },
      { parameter: "voltage", path: ["voltage"] },
    ],
  });
  assert.deepEqual(loadSensorConfig(c).warnings, []);
  const bad: [string, RegExp][] = [
    ["type: mqtt\nhistory_field_e:\n  parameter=e", /state_topic is required/],
    ["type: mqtt\nstate_topic: a/+/b\nhistory_field_e:\n  parameter=e", /without '\+' or '#'/],
    ["type: mqtt\nstate_topic: a\nstate_response_template: {set_result('e', 1)}", /not supported; give each parameter a JSON path/],
    ["type: mqtt\nstate_topic: a\nparameter_e:\n  path=a..b", /bad path/],
    ["type: mqtt\nstate_topic: a", /at least one parameter/],
  ];
  for (const [body, re] of bad) assert.throws(() => loadMqttSensors(cfg(`[sensor s]\n${body}\n`)), (e: unknown) => e instanceof ConfigError && re.test(e.message), body);
});

test("an mqtt sensor without an [mqtt] section stops start-up with a clear error", async () => {
  await assert.rejects(
    startInProcess((c) => applyIni(c, "[sensor s]\ntype: mqtt\nstate_topic: a\nparameter_e:\n  units=W\n", "t.cfg")),
    /type: mqtt, which needs an \[mqtt\] section/,
  );
});

test("JSON paths pick values and never throw on hostile payloads", () => {
  const payload = parsePayload('{"ENERGY":{"Total":1.5,"List":[1,{"x":"7"}]},"__proto__":{"a":1}}');
  const rows: [string, unknown][] = [
    ["ENERGY.Total", 1.5],
    ["$.ENERGY.Total", 1.5],
    ["ENERGY.List[1].x", "7"],
    ["ENERGY.List[5]", undefined],
    ["ENERGY.Total.deeper", undefined],
    ["constructor", undefined],
    ["toString", undefined],
    ["missing", undefined],
  ];
  for (const [path, want] of rows) assert.deepEqual(pick(payload, parsePath(path)), want, path);
  assert.equal(pick(parsePayload("21.5"), parsePath("$")), 21.5);
  assert.equal(pick(parsePayload("ON"), parsePath("$")), "ON");
  assert.equal(coerceValue("12.5"), 12.5);
  assert.equal(coerceValue(" "), " ");
  assert.equal(coerceValue("abc"), "abc");
  for (const bad of ["a..b", "a[x]", "a.", "[0]", "x".repeat(300)]) assert.throws(() => parsePath(bad), bad);
});

function job(id: string, status: JobRecord["status"], end: number | null): JobRecord {
  return {
    job_id: id, user: "No User", filename: `${id}.gcode`, status, start_time: 1, end_time: end, print_duration: 0, total_duration: 0, filament_used: 0,
    metadata: {}, auxiliary_data: [], paused: false, progress: null, filament_source: null, printer_file: null, error_message: null, last_checkpoint: null, timeline: [],
  };
}

test("pending finished jobs: after the mark, oldest first, bounded; newest only without a mark", async (t) => {
  const jobs = [job("000001", "completed", 10), job("000002", "cancelled", 20), job("000003", "error", 30), job("000004", "in_progress", null)];
  assert.deepEqual(pendingJobs(jobs, null, 10).jobs.map((j) => j.job_id), ["000003"]);
  assert.deepEqual(pendingJobs(jobs, { job_id: "000001", time: 10 }, 10).jobs.map((j) => j.job_id), ["000002", "000003"]);
  assert.deepEqual(pendingJobs(jobs, { job_id: "", time: 0 }, 2), { jobs: [jobs[1], jobs[2]], dropped: 1 });
  assert.deepEqual(pendingJobs(jobs, { job_id: "000003", time: 30 }, 10).jobs, []);
  // A job re-opened and finished again later is published again, with its new status.
  const reopened = [job("000001", "completed", 10), job("000002", "completed", 40)];
  assert.deepEqual(pendingJobs(reopened, { job_id: "000002", time: 20 }, 10).jobs.map((j) => j.status), ["completed"]);
  const dir = await tempDir(t);
  const file = join(dir, "mark.json");
  assert.equal(await readMark(file), null);
  await writeMark(file, { job_id: "00000A", time: 99.5 });
  assert.deepEqual(await readMark(file), { job_id: "00000A", time: 99.5 });
  await writeFile(file, "{torn");
  assert.equal(await readMark(file), null);
});

test("printlog check-config validates [mqtt] and shows the broker", async (t) => {
  const { spawnSync } = await import("node:child_process");
  const { CLI } = await import("../helpers.js");
  const dir = await tempDir(t);
  const good = join(dir, "good.cfg");
  await writeFile(good, "[mqtt]\naddress: broker.lan\ninstance_name: mk4\nhome_assistant_discovery: true\n");
  const ok = spawnSync(process.execPath, [CLI, "check-config", "--config", good], { encoding: "utf8" });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /mqtt +broker\.lan:1883 as mk4, Home Assistant discovery/);
  const bad = join(dir, "bad.cfg");
  await writeFile(bad, "[mqtt]\naddress: broker.lan\ndefault_qos: 7\n");
  const no = spawnSync(process.execPath, [CLI, "check-config", "--config", bad], { encoding: "utf8" });
  assert.equal(no.status, 2);
  assert.match(no.stderr + no.stdout, /mqtt\.default_qos.*'7'/);
});

test("status_interval coalesces notify_status_update per object, as Moonraker's status cache; others pass at once", async () => {
  const { ApiTopics } = await import("../../src/mqtt/api-topics.js");
  const { MethodTable } = await import("../../src/api/methods.js");
  const { silentLogger } = await import("../../src/log.js");
  const sent: { topic: string; payload: any }[] = [];
  const api = new ApiTopics(new MethodTable(), { response: "r", notification: "n" }, 1, 0.3, (topic, payload) => sent.push({ topic, payload: JSON.parse(payload) }), silentLogger);
  try {
    api.notify("notify_status_update", [{ extruder: { temperature: 200 }, print_stats: { state: "printing" } }, 1.0]);
    api.notify("notify_status_update", [{ extruder: { target: 210 } }, 1.2]);
    api.notify("notify_status_update", [{ extruder: { temperature: 201 } }, 1.4]);
    api.notify("notify_history_changed", [{ action: "added" }]);
    assert.deepEqual(sent.map((s) => s.payload.method), ["notify_history_changed"]);
    const until = Date.now() + 5000;
    while (sent.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(sent[1]!.payload, {
      jsonrpc: "2.0",
      method: "notify_status_update",
      params: [{ extruder: { temperature: 201, target: 210 }, print_stats: { state: "printing" } }, 1.4],
    });
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(sent.length, 2, "nothing new, nothing sent");
  } finally {
    api.close();
  }
});
