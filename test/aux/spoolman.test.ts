// Spoolman through the real process against a real local HTTP server implementing the few
// Spoolman endpoints printlog uses (health, info, spool, spool use): advertised only when
// configured, proxy in both answer shapes, status that follows the server, spool ids that agree.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { http, jsonBody, RpcClient, sleep, startCli, tempDir } from "../helpers.js";

interface FakeSpoolman {
  server: Server;
  url: string;
  received: { method: string; url: string; body: string }[];
  close(): Promise<void>;
}

const SPOOLS = [{ id: 1, remaining_weight: 750, filament: { id: 3, name: "PLA Galaxy Black", material: "PLA" } }];

async function fakeSpoolman(): Promise<FakeSpoolman> {
  const received: FakeSpoolman["received"] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      received.push({ method: req.method!, url: req.url!, body });
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { "Content-Type": "application/json", "X-Total-Count": "1" });
        res.end(JSON.stringify(value));
      };
      const m = /^\/api\/v1\/spool\/(\d+)(\/use)?$/.exec(req.url!.split("?")[0]!);
      if (req.url === "/api/v1/health") return send(200, { status: "healthy" });
      if (req.url === "/api/v1/info") return send(200, { version: "0.21.0", debug_mode: false });
      if (req.url === "/api/v1/vendor") return send(200, [{ id: 1, name: "Prusament" }]);
      if (req.url!.startsWith("/api/v1/spool?") || req.url === "/api/v1/spool") return send(200, SPOOLS);
      if (m) {
        const spool = SPOOLS.find((s) => s.id === Number(m[1]));
        if (!spool) return send(404, { message: `No spool with ID ${m[1]} found.` });
        if (m[2] && req.method === "PUT") return send(200, { ...spool, used_length: JSON.parse(body).use_length });
        return send(200, spool);
      }
      send(404, { message: "Not found" });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await sleep(200);
  }
}

test("with [spoolman] server: advertised, proxied (v1 and v2 answers), status follows the server, spool ids agree", { timeout: 90_000 }, async (t) => {
  const sm = await fakeSpoolman();
  t.after(() => sm.close());
  const dir = await tempDir(t);
  const cfg = join(dir, "c.cfg");
  await writeFile(cfg, `[server]\nhost: 127.0.0.1\nport: 0\ndata_dir: ${join(dir, "d")}\n[printer]\ndevice: none\n[spoolman]\nserver: ${sm.url}\nsync_rate: 1\n`);
  const pl = await startCli(["serve", "--config", cfg]);
  t.after(() => pl.stop("SIGKILL"));
  const ws = await RpcClient.connect(pl.url);
  assert.ok((await ws.call("server.info")).result.components.includes("spoolman"));
  const status = await until(() => ws.call("server.spoolman.status"), (r) => r.result.spoolman_connected === true);
  assert.deepEqual(status.result, { spoolman_connected: true, pending_reports: [], spool_id: null });

  // Mainsail's Spoolman start-up (store/server/spoolman init): every call answered, no error.
  const mainsailInit = async () =>
    Promise.all([
      ws.call("server.spoolman.get_spool_id", {}),
      ...["/v1/info", "/v1/health", "/v1/vendor", "/v1/spool"].map((path) => ws.call("server.spoolman.proxy", { request_method: "GET", path, use_v2_response: true })),
    ]);
  const init = await mainsailInit();
  assert.ok(init.every((r) => "result" in r && (r.result.error ?? null) === null), JSON.stringify(init));
  assert.deepEqual(init[3].result.response, [{ id: 1, name: "Prusament" }]);

  // v1 answers are Spoolman's JSON; v2 wraps it (what Mainsail and Fluidd send).
  assert.deepEqual((await ws.call("server.spoolman.proxy", { request_method: "GET", path: "/v1/info" })).result, { version: "0.21.0", debug_mode: false });
  const v2 = (await ws.call("server.spoolman.proxy", { request_method: "GET", path: "/v1/spool", query: "allow_archived=false", use_v2_response: true })).result;
  assert.deepEqual(v2.response, SPOOLS);
  assert.equal(v2.error, null);
  assert.equal(v2.response_headers["x-total-count"], "1");
  assert.ok(sm.received.some((r) => r.url === "/api/v1/spool?allow_archived=false"));
  const missing = (await ws.call("server.spoolman.proxy", { request_method: "GET", path: "/v1/spool/99", use_v2_response: true })).result;
  assert.deepEqual(missing, { response: null, error: { status_code: 404, message: "No spool with ID 99 found." } });
  assert.equal((await ws.call("server.spoolman.proxy", { request_method: "GET", path: "/v1/spool/99" })).error.message, "No spool with ID 99 found.");
  const used = await http(`${pl.url}/server/spoolman/proxy`, jsonBody({ request_method: "PUT", path: "/v1/spool/1/use", body: { use_length: 12.5 } }));
  assert.equal(used.body.result.used_length, 12.5);
  assert.deepEqual(JSON.parse(sm.received.find((r) => r.method === "PUT")!.body), { use_length: 12.5 });
  // Hostile requests: only Spoolman's /v1/ API, valid methods, no body on GET.
  for (const bad of [
    { request_method: "GET", path: "/../admin" },
    { request_method: "GET", path: "/v1/../../etc" },
    { request_method: "GET", path: "/v1/%2E%2e/%2e%2e/admin" },
    { request_method: "TRACE", path: "/v1/info" },
    { request_method: "GET", path: "/v1/info", body: { a: 1 } },
    { request_method: "GET", path: "/v1/info?x=1" },
  ]) {
    assert.equal((await ws.call("server.spoolman.proxy", bad)).error.code, 400, JSON.stringify(bad));
  }

  // The active spool: post, then status and spool_id agree; clients are told.
  await ws.call("server.spoolman.post_spool_id", { spool_id: 1 });
  await ws.waitFor((m) => m.method === "notify_active_spool_set" && m.params[0].spool_id === 1);
  assert.equal((await ws.call("server.spoolman.status")).result.spool_id, 1);
  assert.deepEqual((await http(`${pl.url}/server/spoolman/spool_id`)).body.result, { spool_id: 1 });

  // Spoolman goes away: status says so, the proxy answers 503 (v2: wrapped).
  await sm.close();
  await ws.waitFor((m) => m.method === "notify_spoolman_status_changed" && m.params[0].spoolman_connected === false, 20_000);
  assert.equal((await ws.call("server.spoolman.status")).result.spoolman_connected, false);
  const down = (await ws.call("server.spoolman.proxy", { request_method: "GET", path: "/v1/info", use_v2_response: true })).result;
  assert.equal(down.error.status_code, 503);
  assert.equal((await ws.call("server.spoolman.proxy", { request_method: "GET", path: "/v1/info" })).error.code, 503);
  // Mainsail's start-up against an unreachable Spoolman: still no JSON-RPC error (v2 wraps it).
  const downInit = await mainsailInit();
  assert.ok(downInit.every((r) => "result" in r), JSON.stringify(downInit));
  assert.ok(downInit.slice(1).every((r) => r.result.error.status_code === 503));
  ws.close();
});

test("without [spoolman]: not advertised, no proxy, spool ids still work and status agrees with spool_id", { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const cfg = join(dir, "c.cfg");
  await writeFile(cfg, `[server]\nhost: 127.0.0.1\nport: 0\ndata_dir: ${join(dir, "d")}\n[printer]\ndevice: none\n`);
  const pl = await startCli(["serve", "--config", cfg]);
  t.after(() => pl.stop("SIGKILL"));
  const ws = await RpcClient.connect(pl.url);
  assert.ok(!(await ws.call("server.info")).result.components.includes("spoolman"));
  assert.equal((await ws.call("server.spoolman.proxy", { request_method: "GET", path: "/v1/info" })).error.code, -32601);
  await http(`${pl.url}/server/spoolman/spool_id`, jsonBody({ spool_id: 5 }));
  assert.deepEqual((await ws.call("server.spoolman.status")).result, { spoolman_connected: false, pending_reports: [], spool_id: 5 });
  assert.deepEqual((await ws.call("server.spoolman.get_spool_id")).result, { spool_id: 5 });
  ws.close();
});

test("a bad [spoolman] section stops start-up with an error naming the key", async (t) => {
  const dir = await tempDir(t);
  const { spawnSync } = await import("node:child_process");
  const { CLI } = await import("../helpers.js");
  for (const [text, re] of [
    ["[spoolman]\n", /spoolman\.server/],
    ["[spoolman]\nserver: ftp://x y\n", /spoolman\.server: expected/],
    ["[spoolman]\nserver: http://localhost:7912\nsync_rate: 0\n", /spoolman\.sync_rate/],
  ] as [string, RegExp][]) {
    const cfg = join(dir, "bad.cfg");
    await writeFile(cfg, text);
    const r = spawnSync(process.execPath, [CLI, "check-config", "--config", cfg], { encoding: "utf8" });
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, re);
  }
});
