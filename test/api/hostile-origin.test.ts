// Hostile web pages, through the real process: a foreign Origin cannot change anything even from
// a trusted address, CORS wildcards match one label / octet only, a Host that is not this
// machine's is refused (DNS rebinding), WebSocket connections are capped, and the API key file.

import { test } from "node:test";
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { readFile, stat, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { connect } from "node:net";
import WebSocket from "ws";
import { CLI, tempDir } from "../helpers.js";
import { raw, serve } from "./hostile-helpers.js";

const JSON_HEADERS = { "Content-Type": "application/json" };

async function addJobs(port: number, n: number): Promise<void> {
  // Jobs come from the recorder; a database item stands in as "state a page could destroy" too.
  for (let i = 0; i < n; i++) {
    const r = await raw(port, "/server/database/item", { method: "POST", headers: JSON_HEADERS, body: JSON.stringify({ namespace: "mainsail", key: `k${i}`, value: i }) });
    assert.equal(r.status, 200, r.text);
  }
}

function wsStatus(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/websocket`, { headers });
    ws.once("open", () => {
      ws.close();
      resolve(101);
    });
    ws.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.once("error", reject);
  });
}

test("a foreign Origin is refused 403 on every write, though the client's address is trusted", { timeout: 60_000 }, async (t) => {
  const s = await serve(t, { extra: "[authorization]\ncors_domains: http://192.168.1.*, *.local, http://mainsail.example:8080\n" });
  await addJobs(s.port, 2);
  const evil = [
    "http://evil.example",
    "http://192.168.1.evil.example", // the suffix a `.*` wildcard used to let in
    "http://printer.local.evil.example",
    "http://a.b.local", // one label per `*`
    "null", // sandboxed frames and file: pages
    "http://mainsail.example:8081",
  ];
  for (const origin of evil) {
    const writes: [string, string, string?][] = [
      ["POST", "/server/history/reset_totals"],
      ["DELETE", "/server/history/job?all=true"],
      ["DELETE", "/server/database/item?namespace=mainsail&key=k0"],
      ["POST", "/server/database/item", JSON.stringify({ namespace: "mainsail", key: "k1", value: "pwned" })],
      ["POST", "/server/jsonrpc", JSON.stringify({ jsonrpc: "2.0", method: "server.history.delete_job", params: { all: true }, id: 1 })],
      ["POST", "/server/spoolman/spool_id", JSON.stringify({ spool_id: 66 })],
    ];
    for (const [method, path, body] of writes) {
      const r = await raw(s.port, path, { method, headers: { ...JSON_HEADERS, Origin: origin }, ...(body ? { body } : {}) });
      assert.equal(r.status, 403, `${origin} ${method} ${path}: ${r.text}`);
      assert.equal(r.headers["access-control-allow-origin"], undefined);
    }
    assert.equal(await wsStatus(s.port, { Origin: origin }), 403, `WebSocket from ${origin}`);
  }
  const items = await raw(s.port, "/server/database/item?namespace=mainsail");
  assert.deepEqual(items.body.result.value, { k0: 0, k1: 1 }, "nothing changed");
  assert.equal((await raw(s.port, "/server/spoolman/spool_id")).body.result.spool_id, null);

  // Allowed: the same host, a configured origin (one octet, one label), or no Origin (not a page).
  for (const origin of [`http://127.0.0.1:${s.port}`, "http://192.168.1.20", "http://192.168.1.20:8080", "http://mainsail.local", "http://mainsail.example:8080", undefined]) {
    const r = await raw(s.port, "/server/database/item", { method: "POST", headers: { ...JSON_HEADERS, ...(origin ? { Origin: origin } : {}) }, body: JSON.stringify({ namespace: "mainsail", key: "k1", value: 1 }) });
    assert.equal(r.status, 200, `${origin}: ${r.text}`);
    if (origin && !origin.includes("127.0.0.1")) assert.equal(r.headers["access-control-allow-origin"], origin);
  }
  const pna = await raw(s.port, "/server/database/item", { method: "OPTIONS", headers: { Origin: "http://mainsail.local", "Access-Control-Request-Method": "POST", "Access-Control-Request-Private-Network": "true" } });
  assert.equal(pna.status, 204);
  assert.equal(pna.headers["access-control-allow-private-network"], "true");
  const pnaEvil = await raw(s.port, "/server/database/item", { method: "OPTIONS", headers: { Origin: "http://192.168.1.evil.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Private-Network": "true" } });
  assert.equal(pnaEvil.status, 403);
  assert.equal(pnaEvil.headers["access-control-allow-private-network"], undefined);
  // Reading is not refused (the browser hides the answer from a foreign page without CORS headers).
  const read = await raw(s.port, "/server/history/list", { headers: { Origin: "http://evil.example" } });
  assert.equal(read.status, 200);
  assert.equal(read.headers["access-control-allow-origin"], undefined);
});

test("cors_domains and allowed_hosts refuse a wildcard top-level domain or host at check-config", async (t) => {
  const dir = await tempDir(t);
  const cfg = join(dir, "c.cfg");
  for (const [line, re] of [
    ["cors_domains: http://printer.*", /top-level domain/],
    ["cors_domains: *", /top-level domain|whole host/],
    ["cors_domains: http://192.168.*.1.*", /IPv4|top-level|label/],
    ["cors_domains: http://pr*nter.local", /whole label/],
    ["cors_domains: ftp://printer.local", /only http and https/],
    ["allowed_hosts: printer.*", /top-level domain/],
  ] as const) {
    await writeFile(cfg, `[authorization]\n${line}\n`);
    const r = spawnSync(process.execPath, [CLI, "check-config", "--config", cfg], { encoding: "utf8" });
    assert.equal(r.status, 2, `${line}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, re, line);
  }
  await writeFile(cfg, "[authorization]\ncors_domains: *.local, http://192.168.1.*:*, https://*.example.com\nallowed_hosts: printer.home.arpa, *.lan\n");
  const ok = spawnSync(process.execPath, [CLI, "check-config", "--config", cfg], { encoding: "utf8" });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
});

test("DNS rebinding: a Host that is not this machine's is refused 403; own names and allowed_hosts pass", { timeout: 60_000 }, async (t) => {
  const s = await serve(t, { extra: "[authorization]\nallowed_hosts: printer.home.arpa, *.lan\n", host: "0.0.0.0" });
  for (const host of ["evil.example", `evil.example:${s.port}`, "printer.home.arpa.evil.example", "a.b.lan", "bad host", "evil.example:80:80"]) {
    const r = await raw(s.port, "/server/history/list", { headers: { Host: host } });
    assert.ok(r.status === 400 || r.status === 403, `${host} -> ${r.status} ${r.text}`);
    if (host !== "bad host") assert.equal(await wsStatus(s.port, { Host: host }), 403);
  }
  // An empty Host (node's client would fill one in, so over a raw socket).
  const empty = await new Promise<string>((resolve, reject) => {
    const sock = connect(s.port, "127.0.0.1", () => sock.end("GET /server/history/list HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n"));
    let got = "";
    sock.on("data", (d) => (got += d));
    sock.on("end", () => resolve(got));
    sock.on("error", reject);
  });
  assert.match(empty, /^HTTP\/1\.1 40[03]/);
  const own = [`localhost:${s.port}`, `127.0.0.1:${s.port}`, `127.9.9.9`, `[::1]:${s.port}`, hostname(), `${hostname().split(".")[0]}.local:${s.port}`, "printer.home.arpa", "PRINTER.HOME.ARPA.", "printer.lan:7125"];
  for (const host of own) {
    const r = await raw(s.port, "/server/history/list", { headers: { Host: host } });
    assert.equal(r.status, 200, `${host}: ${r.text}`);
  }
  assert.equal(await wsStatus(s.port, { Host: `localhost:${s.port}` }), 101);
  // Behind a reverse proxy passing the browser's Host, a page on that host may write.
  for (const [host, origin] of [["printer.lan", "http://printer.lan"], [`printer.home.arpa:${s.port}`, `http://printer.home.arpa:${s.port}`]]) {
    const r = await raw(s.port, "/server/spoolman/spool_id", { method: "POST", headers: { Host: host!, Origin: origin!, ...JSON_HEADERS }, body: '{"spool_id":3}' });
    assert.equal(r.status, 200, `${host} ${origin}: ${r.text}`);
  }
  const proxied = await raw(s.port, "/server/spoolman/spool_id", { method: "POST", headers: { Host: "printer.lan", Origin: "http://other.lan", ...JSON_HEADERS }, body: '{"spool_id":4}' });
  assert.equal(proxied.status, 403, "another host's page, though both names are allowed");
  // Chrome's Private Network Access preflight is answered for allowed origins only.
  const pna = await raw(s.port, "/server/history/list", { method: "OPTIONS", headers: { Origin: `http://127.0.0.1:${s.port}`, "Access-Control-Request-Method": "GET", "Access-Control-Request-Private-Network": "true" } });
  assert.equal(pna.status, 403, "no cors_domains here: even the same host gets no preflight");
  // A page that rebound evil.example to this address and posts to itself is stopped by the Host.
  const rebound = await raw(s.port, "/server/history/reset_totals", { method: "POST", headers: { Host: "evil.example", Origin: "http://evil.example" } });
  assert.equal(rebound.status, 403);
});

test("WebSocket connections are capped by max_websocket_connections with a clear 503", { timeout: 60_000 }, async (t) => {
  const capped = await serve(t, { serverLines: "max_websocket_connections: 3\n" });
  const open: WebSocket[] = [];
  for (let i = 0; i < 3; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${capped.port}/websocket`);
    await new Promise((r, j) => ws.once("open", r).once("error", j));
    open.push(ws);
  }
  const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${capped.port}/websocket`);
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once("open", () => reject(new Error("a 4th connection was accepted")));
  });
  assert.equal(refused.status, 503);
  assert.match(JSON.parse(refused.body).error.message, /Maximum number of WebSocket connections \(3\)/);
  await capped.pl.waitFor(/websocket.refused_full/);
  open[0]!.close();
  await new Promise((r) => open[0]!.once("close", r));
  // The slot frees once the server has seen the close.
  let status = 0;
  for (let i = 0; i < 50 && status !== 101; i++) {
    status = await wsStatus(capped.port, {});
    if (status !== 101) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(status, 101);
  for (const ws of open) ws.close();
});

test("the API key file: generated with mode 600, kept across restarts, replaced with a warning when empty", { timeout: 60_000 }, async (t) => {
  const s = await serve(t, { extra: "[authorization]\ntrusted_clients: 10.0.0.0/8\n" });
  const file = join(s.data, "api_key");
  const key = (await readFile(file, "utf8")).trim();
  assert.match(key, /^[0-9a-f]{32}$/);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.match(s.pl.output(), /api_key.generated/);
  assert.equal((await raw(s.port, "/server/history/list", { headers: { "X-Api-Key": key } })).status, 200);
  await s.pl.stop();

  // A restart keeps the key; an empty file (a power cut before the data reached the disk) is
  // replaced, and the log says so, naming the reason.
  const { startCli } = await import("../helpers.js");
  const cfg = join(s.dir, "printlog.cfg");
  let pl = await startCli(["serve", "--config", cfg]);
  t.after(() => pl.stop("SIGKILL"));
  assert.equal((await readFile(file, "utf8")).trim(), key);
  assert.doesNotMatch(pl.output(), /api_key.generated/);
  await pl.stop();
  await mkdir(s.data, { recursive: true });
  await writeFile(file, "");
  pl = await startCli(["serve", "--config", cfg]);
  const fresh = (await readFile(file, "utf8")).trim();
  assert.notEqual(fresh, key);
  assert.match(fresh, /^[0-9a-f]{32}$/);
  assert.match(pl.output(), /WARN\s+api_key\.generated .*reason="the key file was empty".*remote clients need the new one/);
  await pl.stop();
});
