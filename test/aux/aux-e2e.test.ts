// Auxiliary data end to end: the seed page's example fields recorded on a real job driven
// through the virtual printer, fed by HTTP readings (a sensor script), serial-line rules and
// Spoolman spool ids; validation, auth and a burst of readings; the hostile rule pattern.

import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { VirtualPrinter } from "../../scripts/virtual-printer.js";
import { http, jsonBody, RpcClient, sleep, startCli, tempDir } from "../helpers.js";

const CONFIG = (link: string, data: string) => `
[server]
host: 127.0.0.1
port: 0
data_dir: ${data}

[printer]
device: ${link}
poll_printing_seconds: 1
poll_idle_seconds: 2
command_timeout_seconds: 5

[sensor hist_test]
history_field_power_consumption:
  parameter=energy
  desc=Printer Power Consumption
  strategy=delta
  units=kWh
  init_tracker=true
  precision=6
  report_total=true
  report_maximum=true
history_field_max_current:
  parameter=current
  desc=Maximum current draw
  strategy=maximum
  units=A
history_field_min_current:
  parameter=current
  desc=Minimum current draw
  strategy=minimum
  units=A
history_field_avg_current:
  parameter=current
  desc=Average current draw
  strategy=average
  units=A
  report_maximum=true
history_field_status:
  parameter=state
  desc=Power Switch Status
  strategy=basic
history_field_filament:
  parameter=extruded
  desc=filament usage tracker
  strategy=delta
  units=mm
  report_total=true
  report_maximum=true

[serial_rule extruded]
sensor: hist_test
pattern: ^X:\\S+ Y:\\S+ Z:\\S+ E:(?<extruded>-?[0-9.]+)

[serial_rule hostile]
sensor: hist_test
pattern: ^(?<state>(a+)+)$
`;

test("aux fields recorded on a real job: HTTP sensor readings, serial rules, spool ids, totals", { timeout: 120_000 }, async (t) => {
  const dir = await tempDir(t);
  const link = join(dir, "printer");
  const cfg = join(dir, "printlog.cfg");
  await writeFile(cfg, CONFIG(link, join(dir, "data")));
  const vp = new VirtualPrinter({ link, dialect: "marlin2_host", printSeconds: 10 }); // long enough for several M114 replies (every 2 s) under load
  await vp.plug();
  const pl = await startCli(["serve", "--config", cfg]);
  t.after(async () => {
    await pl.stop("SIGKILL");
    await vp.close();
  });
  const url = pl.url;
  await pl.waitFor(/printer\.watching/);
  const post = (body: unknown) => http(`${url}/server/sensors/update`, jsonBody(body));

  // Validation, before any job.
  let r = await post({ sensor: "nope", values: { energy: 1 } });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /Unknown sensor: nope/);
  r = await post({ sensor: "hist_test", values: { voltage: 1 } });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /Unknown parameter 'voltage'/);
  r = await post({ sensor: "hist_test", values: { energy: "lots" } });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /must be a number/);
  r = await post({ sensor: "hist_test", values: [] });
  assert.equal(r.status, 400);
  r = await post({ sensor: "hist_test", values: { energy: 100.0 } }); // the reading before the job (init_tracker)
  assert.equal(r.status, 200);

  // Spool 7 active before the job, 9 during it.
  r = await http(`${url}/server/spoolman/spool_id`, jsonBody({ spool_id: 7 }));
  assert.deepEqual(r.body.result, { spool_id: 7 });
  assert.deepEqual((await http(`${url}/server/spoolman/spool_id`)).body.result, { spool_id: 7 });

  const rpc = await RpcClient.connect(url);
  vp.startPrint("CUBE~1.GCO");
  let job: any;
  for (let i = 0; i < 50 && !job; i++) {
    const list = (await http(`${url}/server/history/list?limit=1`)).body.result.jobs;
    if (list[0]?.status === "in_progress") job = list[0];
    else await sleep(100);
  }
  assert.ok(job, "the job started");
  // The added notification carries numbers where Moonraker's trackers start at 0 (Mainsail's
  // job details fail on null); only the basic field without a reading is null, as in Moonraker.
  const added = await rpc.waitFor((m) => m.method === "notify_history_changed" && m.params[0].action === "added", 10_000);
  const start = Object.fromEntries(added.params[0].job.auxiliary_data.map((a: any) => [a.name, a.value]));
  assert.deepEqual(start, { power_consumption: 0, max_current: 0, min_current: 0, avg_current: 0, status: null, filament: 0, spool_ids: [7] });
  for (const [energy, current, state] of [[100.1, 1.5, 2], [100.25, 2.75, 2], [100.4, 0.5, 2]] as const) {
    await post({ sensor: "hist_test", values: { energy, current, state } });
    await sleep(300);
  }
  const viaRpc = await rpc.call("server.sensors.update", { sensor: "hist_test", values: { current: 1.25 } });
  assert.deepEqual(viaRpc.result.accepted, ["current"]);
  const spool = await rpc.call("server.spoolman.post_spool_id", { spool_id: 9 });
  assert.deepEqual(spool.result, { spool_id: 9 });
  // A burst of readings, as a fast sensor script would send.
  const burst = await Promise.all(Array.from({ length: 50 }, (_, i) => post({ sensor: "hist_test", values: { state: 2 + (i % 2 === 0 ? 0 : 0) } })));
  assert.ok(burst.every((b) => b.status === 200));

  const done = await (async () => {
    for (let i = 0; i < 200; i++) {
      const j = (await http(`${url}/server/history/job?uid=${job.job_id}`)).body.result.job;
      if (j.status !== "in_progress") return j;
      await sleep(100);
    }
    throw new Error("job did not finish");
  })();
  assert.equal(done.status, "completed");
  await sleep(500);
  const final = (await http(`${url}/server/history/job?uid=${job.job_id}`)).body.result.job;
  const aux = Object.fromEntries(final.auxiliary_data.map((a: any) => [`${a.provider}/${a.name}`, a]));
  assert.ok(Math.abs(aux["sensor hist_test/power_consumption"].value - 0.4) < 1e-6, JSON.stringify(aux["sensor hist_test/power_consumption"]));
  assert.equal(aux["sensor hist_test/power_consumption"].units, "kWh");
  assert.equal(aux["sensor hist_test/power_consumption"].description, "Printer Power Consumption");
  assert.equal(aux["sensor hist_test/max_current"].value, 2.75);
  assert.equal(aux["sensor hist_test/min_current"].value, 0.5);
  assert.equal(aux["sensor hist_test/avg_current"].value, 1.5);
  assert.equal(aux["sensor hist_test/status"].value, 2);
  assert.equal(aux["sensor hist_test/status"].units, null);
  assert.deepEqual(aux["spoolman/spool_ids"].value, [7, 9]);
  // The filament field was fed by the serial rule from the printer's own M114 replies.
  const fil = aux["sensor hist_test/filament"].value;
  assert.ok(fil > 0.5 * vp.extruded && fil <= vp.extruded + 1, `serial-rule filament ${fil} vs ${vp.extruded}`);

  const totals = (await http(`${url}/server/history/totals`)).body.result.auxiliary_totals;
  const energy = totals.find((x: any) => x.field === "power_consumption");
  assert.ok(Math.abs(energy.total - 0.4) < 1e-6 && Math.abs(energy.maximum - 0.4) < 1e-6);
  assert.equal(totals.find((x: any) => x.field === "avg_current").total, null);

  const listed = await rpc.call("server.sensors.list", { extended: true });
  const hf = listed.result.sensors.hist_test.history_fields;
  assert.equal(hf.length, 6);
  assert.equal(hf[0].provider, "sensor hist_test");
  assert.equal(listed.result.sensors.hist_test.values.current, 1.25);
  rpc.close();

  // The hostile pattern was cut off and disabled, not a stall: the printer's lines kept flowing.
  assert.doesNotMatch(pl.output(), /aux\.rule_disabled.*rule=extruded/);
});

test("the hostile serial rule is disabled on the line that would stall it, and recording goes on", { timeout: 60_000 }, async (t) => {
  const { RuleRunner, compileRule } = await import("../../src/aux/rules.js");
  const disabled: string[] = [];
  const runner = new RuleRunner([compileRule("hostile", "s", "^(?<v>(a+)+)$"), compileRule("ok", "s", "^T:(?<v>[0-9.]+)")], (r) => disabled.push(r.name));
  const started = Date.now();
  assert.deepEqual(runner.match("a".repeat(60) + "!"), []);
  assert.ok(Date.now() - started < 2000, "returned promptly");
  assert.deepEqual(disabled, ["hostile"]);
  assert.deepEqual(runner.match("T:21.5").map((m) => m.values), [{ v: "21.5" }]);
  void t;
});

test("sensor readings need a trusted client or the API key", { timeout: 30_000 }, async (t) => {
  const dir = await tempDir(t);
  const cfg = join(dir, "c.cfg");
  await writeFile(cfg, `[server]\nhost: 127.0.0.1\nport: 0\ndata_dir: ${join(dir, "d")}\n[printer]\ndevice: none\n[authorization]\ntrusted_clients: 10.0.0.0/8\napi_key: abcdefghijklmnop0123\n[sensor s]\nhistory_field_e:\n  parameter=energy\n  strategy=delta\n`);
  const pl = await startCli(["serve", "--config", cfg]);
  t.after(() => pl.stop("SIGKILL"));
  const body = jsonBody({ sensor: "s", values: { energy: 1 } });
  assert.equal((await http(`${pl.url}/server/sensors/update`, body)).status, 401);
  const withKey = await http(`${pl.url}/server/sensors/update`, { ...body, headers: { "Content-Type": "application/json", "X-Api-Key": "abcdefghijklmnop0123" } });
  assert.equal(withKey.status, 200);
});

test("bad sensor configuration stops start-up with an error naming the key", async (t) => {
  const dir = await tempDir(t);
  const cases: [string, RegExp][] = [
    ["[sensor s]\nhistory_field_e:\n  strategy=median\n", /strategy: expected one of/],
    ["[sensor s]\nhistory_field_e:\n  parameter=x\n[serial_rule r]\nsensor: s\npattern: ^(?<x>[0-9+$\n", /pattern: Invalid regular expression/],
    ["[sensor s]\nhistory_field_e:\n  parameter=x\n[serial_rule r]\nsensor: s\npattern: ^(?<y>[0-9]+)$\n", /group 'y' is not a parameter/],
    ["[serial_rule r]\nsensor: ghost\npattern: ^(?<x>1)$\n", /no \[sensor ghost\]/],
  ];
  const { spawnSync } = await import("node:child_process");
  const { CLI } = await import("../helpers.js");
  for (const [text, re] of cases) {
    const cfg = join(dir, "bad.cfg");
    await writeFile(cfg, text);
    const r = spawnSync(process.execPath, [CLI, "check-config", "--config", cfg], { encoding: "utf8" });
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, re);
  }
});
