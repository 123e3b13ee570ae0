// Replays each client's recorded start-up call sequence (test/printer/fixtures/*.json, read from
// the clients' sources, cited in each file) over a real WebSocket against the real process
// while the virtual printer prints, and checks every key the client indexes without checks.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { http, ROOT, RpcClient } from "../helpers.js";
import { rig, until } from "./support.js";

interface Call {
  method: string;
  id?: number;
  params?: Record<string, unknown>;
  expect?: Record<string, string>;
  tolerate_error?: boolean;
}
interface Fixture {
  client: string;
  sources: string[];
  calls: Call[];
  push?: { notify_status_update?: boolean };
}

const DIR = join(ROOT, "test", "printer", "fixtures");

function at(value: unknown, path: string): unknown {
  if (path === "") return value;
  let v: any = value;
  for (const key of path.split(".")) {
    if (v === null || typeof v !== "object" || !Object.hasOwn(v, key)) return undefined;
    v = v[key];
  }
  return v;
}

function check(value: unknown, rule: string, where: string): void {
  if (rule === "nonempty") return assert.ok(typeof value === "string" && value.length > 0, `${where}: a non-empty string, got ${JSON.stringify(value)}`);
  if (rule.startsWith("=")) {
    const text = rule.slice(1);
    let want: unknown = text;
    if (/^(true|false|null|-?\d+(\.\d+)?)$/.test(text)) want = JSON.parse(text);
    return assert.deepEqual(value, want, where);
  }
  const type = rule.replace(/^type:/, "");
  const actual = Array.isArray(value) ? "array" : value === null ? "null" : typeof value;
  assert.ok(type.split("|").includes(actual), `${where}: expected ${type}, got ${actual} (${JSON.stringify(value)?.slice(0, 80)})`);
}

test("each client's start-up sequence reaches its dashboard", { timeout: 180_000 }, async (t) => {
  const fixtures = readdirSync(DIR).filter((f) => f.endsWith(".json")).sort();
  assert.ok(fixtures.length >= 5, "fixtures for HA, Mobileraker, KlipperScreen, Mainsail, Fluidd");
  const r = await rig(t, "marlin2_host", { plugged: true, printSeconds: 120 });
  const url = r.url();
  await until("ready", async () => (await http(`${url}/server/info`)).body.result.klippy_state === "ready", 40_000, () => r.pl.output());
  r.vp.startPrint("CUBE~1.GCO");
  await until("a running job with temperatures", async () => {
    const s = (await http(`${url}/printer/objects/query?print_stats=state&extruder=temperature`)).body.result.status;
    return s.print_stats.state === "printing" && s.extruder.temperature > 0;
  }, 30_000, () => r.pl.output());
  // The temperature store has a sample once a second.
  await until("a temperature sample", async () => ((await http(`${url}/server/temperature_store`)).body.result.extruder?.temperatures.length ?? 0) > 0);

  for (const file of fixtures) {
    const fx = JSON.parse(readFileSync(join(DIR, file), "utf8")) as Fixture;
    await t.test(fx.client, async () => {
      assert.ok(fx.sources.length > 0, "the fixture cites its sources");
      const ws = await RpcClient.connect(url);
      try {
        let objects: string[] = [];
        for (const [i, call] of fx.calls.entries()) {
          let params = call.params;
          if (params?.["objects"] === "$ALL_OBJECTS") params = { ...params, objects: Object.fromEntries(objects.filter((o) => !o.startsWith("menu")).map((o) => [o, null])) };
          const reply = await ws.call(call.method, params, call.id ?? 1000 + i);
          const where = `${fx.client}: ${call.method} (#${i})`;
          if (call.tolerate_error) continue;
          assert.ok(!("error" in reply), `${where} answered an error: ${JSON.stringify(reply.error)}`);
          if (call.method === "printer.objects.list") objects = reply.result.objects;
          for (const [path, rule] of Object.entries(call.expect ?? {})) check(at(reply.result, path), rule, `${where} ${path || "result"}`);
        }
        if (fx.push?.notify_status_update) {
          const m = await ws.waitFor((x) => x.method === "notify_status_update", 10_000);
          assert.equal(typeof m.params[1], "number");
          assert.ok(Object.keys(m.params[0]).length > 0);
        }
      } finally {
        ws.close();
      }
    });
  }
});
