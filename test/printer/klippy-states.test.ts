// End to end through the virtual printer: every Klippy state and transition (disconnected ->
// startup -> ready, halt -> shutdown, reset -> ready, unplug -> disconnected -> error, replug ->
// ready) and the print states (printing, paused, complete, error), over HTTP, JSON-RPC and
// WebSocket subscriptions, with print_stats checked against the history, both asked in one batch.

import assert from "node:assert/strict";
import { test } from "node:test";
import { http, RpcClient, sleep } from "../helpers.js";
import { rig, rpcHttp, until } from "./support.js";

const ALL = null;

test("klippy states and print states follow the serial line", { timeout: 300_000 }, async (t) => {
  const r = await rig(t, "marlin2_host", { printSeconds: 8 });
  const log = () => r.pl.output();
  let ws = await RpcClient.connect(r.url());
  const notices = (method: string) => ws.messages.filter((m) => m.method === method).length;
  const updates = () => ws.messages.filter((m) => m.method === "notify_status_update");
  /** The latest value of object.field as pushed to this client (subscription updates merged). */
  const pushed = (obj: string, field: string): unknown => {
    let v: unknown;
    for (const m of updates()) if (m.params[0]?.[obj] && field in m.params[0][obj]) v = m.params[0][obj][field];
    return v;
  };
  const serverInfo = async () => (await http(`${r.url()}/server/info`)).body.result;

  await t.test("no printer yet: disconnected, printer.* answers 503", async () => {
    const info = await serverInfo();
    assert.equal(info.klippy_connected, false);
    assert.equal(info.klippy_state, "disconnected");
    const pi = await http(`${r.url()}/printer/info`);
    assert.equal(pi.status, 503);
    assert.equal(pi.body.error.message, "Klippy Host not connected");
    const rpc = await ws.call("printer.objects.query", { objects: { webhooks: null } });
    assert.equal(rpc.error.code, 503);
  });

  await t.test("plug in -> startup -> ready, with notify_klippy_ready", async () => {
    await r.vp.plug();
    await until("notify_klippy_ready", () => notices("notify_klippy_ready") >= 1, 40_000, log);
    const info = await serverInfo();
    assert.equal(info.klippy_connected, true);
    assert.equal(info.klippy_state, "ready");
    const pi = (await http(`${r.url()}/printer/info`)).body.result;
    assert.equal(pi.state, "ready");
    assert.equal(pi.state_message, "Printer is ready");
    assert.equal(typeof pi.hostname, "string");
    assert.match(pi.software_version, /^printlog \S+ \/ Marlin 2\.1\.2\.1$/);
    assert.equal(typeof pi.cpu_info, "string");
  });

  await t.test("subscribe over the WebSocket: full first answer, then changed fields only", async () => {
    const list = (await ws.call("printer.objects.list")).result.objects as string[];
    for (const o of ["webhooks", "print_stats", "virtual_sdcard", "display_status", "idle_timeout", "extruder", "heater_bed", "heaters", "toolhead", "gcode_move", "configfile", "mcu", "system_stats"]) assert.ok(list.includes(o), o);
    const sub = (await ws.call("printer.objects.subscribe", { objects: Object.fromEntries(list.map((o) => [o, ALL])) })).result;
    assert.equal(typeof sub.eventtime, "number");
    assert.equal(sub.status.webhooks.state, "ready");
    assert.equal(sub.status.print_stats.state, "standby");
    assert.equal(sub.status.print_stats.filename, "");
    assert.equal(typeof sub.status.toolhead.homed_axes, "string");
    assert.ok(sub.status.configfile.config.extruder && sub.status.configfile.config.heater_bed && sub.status.configfile.config.printer);
    assert.equal(sub.status.mcu.mcu_version, "Marlin 2.1.2.1");
    // The virtual printer answers M105 with T:210 /210 @:40 (M155 autoreport is not emulated):
    // printlog polls it.
    await until("extruder temperature 210", async () => (await ws.call("printer.objects.query", { objects: { extruder: ["temperature"] } })).result.status.extruder.temperature === 210, 20_000, log);
    await until("three status updates", () => updates().length >= 3, 20_000);
    let last = 0;
    for (const m of updates()) {
      assert.ok(m.params[1] > last, "eventtime strictly increasing");
      last = m.params[1];
      assert.ok(!("configfile" in m.params[0]), "configfile never changes");
      for (const key of Object.keys(m.params[0].toolhead ?? {})) assert.ok(["estimated_print_time", "print_time", "position"].includes(key), `toolhead.${key} unchanged`);
      assert.ok(Object.keys(m.params[0]).length > 0, "never an empty update");
    }
    assert.equal(pushed("extruder", "temperature") ?? sub.status.extruder.temperature, 210);
  });

  await t.test("server.temperature_store: 1 Hz samples of temperature, target and power", async () => {
    const store = await until("two samples", async () => {
      const s = (await ws.call("server.temperature_store", { include_monitors: true })).result;
      return s.extruder?.temperatures.length >= 2 ? s : null;
    });
    assert.equal(store.extruder.temperatures.at(-1), 210);
    assert.equal(store.extruder.targets.at(-1), 210);
    assert.equal(store.extruder.powers.at(-1), 0.31);
    assert.equal(store.heater_bed.temperatures.at(-1), 60);
  });

  /** `starting`: right after a restart, when the printer is not connected yet and the query
   *  rightly answers 503; otherwise an error answer fails the test with its text. */
  const both = async (starting = false) => {
    const [q, h] = await rpcHttp(r.url(), [
      { jsonrpc: "2.0", method: "printer.objects.query", params: { objects: { print_stats: null, virtual_sdcard: null, display_status: null, pause_resume: null } }, id: 1 },
      { jsonrpc: "2.0", method: "server.history.list", params: { limit: 1 }, id: 2 },
    ]);
    if (q.error && !(starting && q.error.code === 503)) assert.fail(`printer.objects.query answered ${JSON.stringify(q.error)}\nprintlog's log:\n${log().split("\n").slice(-30).join("\n")}`);
    return { s: q.result?.status, job: h.result?.jobs[0] };
  };
  const agree = (s: any, job: any) => {
    assert.equal(s.print_stats.filename, job.filename);
    assert.equal(s.print_stats.total_duration, Math.round(job.total_duration * 1000) / 1000);
    assert.equal(s.print_stats.print_duration, Math.round(job.print_duration * 1000) / 1000);
    assert.equal(s.print_stats.filament_used, Math.round(job.filament_used * 1000) / 1000);
  };
  /** The batch's two answers are made a moment apart (printlog lets other requests in between a
   *  batch's items), so a tick may update the job between them: ask again until they agree. A
   *  real disagreement persists and fails with its last difference. */
  const agreeing = async (b: { s: any; job: any }): Promise<{ s: any; job: any }> => {
    for (let i = 0; ; i++) {
      try {
        agree(b.s, b.job);
        return b;
      } catch (e) {
        if (i >= 9) throw e;
      }
      await sleep(100);
      b = await both();
    }
  };

  await t.test("a print: printing -> paused -> printing -> complete, agreeing with the history", async () => {
    const file = r.vp.startPrint("CUBE~1.GCO");
    await until("printing pushed", () => pushed("print_stats", "state") === "printing", 20_000, log);
    const { s } = await agreeing(
      await until("a job with progress", async () => {
        const b = await both();
        return b.job?.status === "in_progress" && b.job.total_duration > 0 ? b : null;
      }),
    );
    assert.equal(s.print_stats.state, "printing");
    assert.equal(s.virtual_sdcard.is_active, true);
    assert.equal(s.virtual_sdcard.file_size, file.size);
    assert.equal(s.display_status.message, file.long); // //action:notification <file>
    r.vp.pause();
    await until("paused pushed", () => pushed("print_stats", "state") === "paused" && pushed("pause_resume", "is_paused") === true, 20_000, log);
    const p = await agreeing(await both());
    assert.equal(p.job.printlog.paused, true);
    r.vp.resume();
    await until("printing again", () => pushed("print_stats", "state") === "printing", 20_000, log);
    await until("complete pushed", () => pushed("print_stats", "state") === "complete", 40_000, log);
    const c = await agreeing(await both());
    assert.equal(c.job.status, "completed");
    assert.equal(c.s.virtual_sdcard.is_active, false);
    assert.equal(c.s.print_stats.filename, file.long);
  });

  await t.test("printlog restarted mid-print: the re-adopted job shows as printing again", async () => {
    r.vp.startPrint("BENCHY~1.GCO");
    const first = await until("a running job", async () => {
      const b = await both();
      return b.job?.status === "in_progress" && b.s.print_stats.state === "printing" ? b.job : null;
    }, 20_000, log);
    ws.close();
    await r.restart();
    ws = await RpcClient.connect(r.url());
    const again = await until("printing after the restart", async () => {
      const b = await both(true);
      return b.s?.print_stats?.state === "printing" ? b : null;
    }, 40_000, log);
    assert.equal(again.job.job_id, first.job_id);
    await agreeing(again);
    await ws.call("printer.objects.subscribe", { objects: { webhooks: ALL, print_stats: ["state", "message"] } });
  });

  await t.test("a firmware halt -> shutdown with its text, print_stats error, notify_klippy_shutdown", async () => {
    r.vp.halt();
    await until("notify_klippy_shutdown", () => notices("notify_klippy_shutdown") >= 1, 20_000, log);
    const info = await serverInfo();
    assert.equal(info.klippy_connected, true);
    assert.equal(info.klippy_state, "shutdown");
    const pi = (await http(`${r.url()}/printer/info`)).body.result;
    assert.equal(pi.state, "shutdown");
    assert.match(pi.state_message, /Thermal Runaway/);
    assert.equal(pushed("webhooks", "state"), "shutdown");
    await until("print_stats error", () => pushed("print_stats", "state") === "error", 20_000, log);
    const gs = (await ws.call("server.gcode_store")).result.gcode_store as any[];
    assert.ok(gs.some((e) => e.type === "response" && /^!! Thermal Runaway/.test(e.message)), JSON.stringify(gs));
    assert.ok(ws.messages.some((m) => m.method === "notify_gcode_response" && /^!! Printer halted/.test(m.params[0])));
    const refused = await ws.call("printer.gcode.script", { script: "M105" });
    assert.equal(refused.error.code, 400);
    assert.match(refused.error.message, /Thermal Runaway/);
  });

  await t.test("the printer resets -> startup -> ready again, print_stats standby", async () => {
    const readyBefore = notices("notify_klippy_ready");
    r.vp.reset();
    await until("notify_klippy_ready after the reset", () => notices("notify_klippy_ready") > readyBefore, 40_000, log);
    assert.equal((await serverInfo()).klippy_state, "ready");
    const s = (await ws.call("printer.objects.query", { objects: { print_stats: ["state"], webhooks: ALL } })).result.status;
    assert.equal(s.print_stats.state, "standby");
    assert.deepEqual(s.webhooks, { state: "ready", state_message: "Printer is ready" });
  });

  await t.test("unplugged -> disconnected (503), then an explained error; replugged -> ready", async () => {
    const readyBefore = notices("notify_klippy_ready");
    await r.vp.unplug();
    await until("notify_klippy_disconnected", () => notices("notify_klippy_disconnected") >= 1, 20_000, log);
    let info = await serverInfo();
    assert.equal(info.klippy_connected, false);
    assert.equal(info.klippy_state, "disconnected");
    assert.equal((await http(`${r.url()}/printer/objects/list`)).status, 503);
    info = await until("the error state", async () => ((await serverInfo()).klippy_state === "error" ? serverInfo() : null), 30_000);
    assert.equal(info.klippy_connected, true);
    const pi = (await http(`${r.url()}/printer/info`)).body.result;
    assert.equal(pi.state, "error");
    assert.ok(pi.state_message.includes(r.vp.opts.link), pi.state_message);
    await r.vp.plug();
    await until("notify_klippy_ready after replugging", () => notices("notify_klippy_ready") > readyBefore, 60_000, log);
    assert.equal((await serverInfo()).klippy_state, "ready");
  });
  ws.close();
});
