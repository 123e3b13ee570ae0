// Every virtual firmware dialect reaches `ready` with its firmware named and temperatures read,
// and a halt on Prusa's MK3 (which soft-resets itself after kill()) passes through `shutdown`
// back to `ready`.

import assert from "node:assert/strict";
import { test } from "node:test";
import { VP_DIALECTS } from "../../scripts/virtual-printer.js";
import { http, RpcClient } from "../helpers.js";
import { rig, until } from "./support.js";

const FIRMWARE: Record<string, RegExp> = {
  marlin2: /Marlin 2\.1\.2\.1/,
  marlin2_host: /Marlin 2\.1\.2\.1/,
  marlin1: /Marlin V1/,
  prusa_mk3: /Prusa-Firmware 3\.13\.3/,
  buddy: /Prusa-Firmware-Buddy 6\.3\.4/,
  rrf: /RepRapFirmware for Duet 3 Mini 5\+ 3\.5\.1/,
};

for (const dialect of VP_DIALECTS) {
  test(`${dialect}: ready, firmware named, temperatures read`, { timeout: 120_000 }, async (t) => {
    const r = await rig(t, dialect, { plugged: true });
    const url = r.url();
    await until("ready", async () => (await http(`${url}/server/info`)).body.result.klippy_state === "ready", 40_000, () => r.pl.output());
    const info = (await http(`${url}/printer/info`)).body.result;
    assert.match(info.software_version, FIRMWARE[dialect]!);
    await until("temperatures", async () => (await http(`${url}/printer/objects/query?extruder=temperature&heater_bed=temperature`)).body.result.status.extruder.temperature === 210, 20_000, () => r.pl.output());
    if (dialect !== "prusa_mk3") return;
    const ws = await RpcClient.connect(url);
    t.after(() => ws.close());
    r.vp.halt();
    await ws.waitFor((m) => m.method === "notify_klippy_shutdown", 20_000);
    await ws.waitFor((m) => m.method === "notify_klippy_ready", 40_000);
    assert.equal((await http(`${url}/server/info`)).body.result.klippy_state, "ready");
  });
}

test("a printer that does not answer: startup, then an explained error, then ready once it answers", { timeout: 120_000 }, async (t) => {
  const r = await rig(t, "marlin2");
  r.vp.muted = true;
  await r.vp.plug();
  const url = r.url();
  const info = async () => (await http(`${url}/server/info`)).body.result;
  await until("startup", async () => (await info()).klippy_state === "startup", 30_000, () => r.pl.output());
  const starting = (await http(`${url}/printer/info`)).body.result;
  assert.equal(starting.state, "startup");
  assert.match(starting.state_message, /waiting for the firmware to answer M115/);
  // Mainsail and Fluidd keep calling these while not ready: they must answer.
  assert.equal((await http(`${url}/printer/objects/list`)).status, 200);
  assert.equal((await http(`${url}/printer/objects/query?webhooks`)).body.result.status.webhooks.state, "startup");
  await until("error", async () => (await info()).klippy_state === "error", 40_000, () => r.pl.output());
  const err = (await http(`${url}/printer/info`)).body.result;
  assert.match(err.state_message, /No answer to M115/);
  assert.equal((await info()).klippy_connected, true);
  r.vp.muted = false;
  await until("ready once it answers", async () => (await info()).klippy_state === "ready", 60_000, () => r.pl.output());
});
