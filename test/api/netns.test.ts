// Clients at an untrusted address, for real: a network namespace joined to this machine by a veth
// pair on a private /30 (198.18.0.0/15, the benchmarking range, which no default trusted range
// covers). Needs root (`ip netns`); skipped with a message otherwise. Torn down after the test.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ROOT, tempDir } from "../helpers.js";
import { raw, serve } from "./hostile-helpers.js";

const canNetns = process.getuid?.() === 0 && spawnSync("ip", ["netns", "list"]).status === 0;
const SKIP = canNetns ? false : "needs root and iproute2 (ip netns) to put a client at an untrusted address";

interface Net {
  ns: string;
  hostIp: string;
  clientIp: string;
}

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function makeNet(t: { after(fn: () => unknown): void }): Net {
  const tag = `${process.pid % 100000}${Math.floor(Math.random() * 100)}`;
  const ns = `plh${tag}`;
  const [a, b] = [`plh${tag}a`, `plh${tag}b`];
  const third = process.pid % 256;
  const fourth = (Math.floor(Math.random() * 63) + 1) * 4;
  const net = { ns, hostIp: `198.18.${third}.${fourth + 1}`, clientIp: `198.18.${third}.${fourth + 2}` };
  t.after(() => {
    spawnSync("ip", ["netns", "del", ns]);
    spawnSync("ip", ["link", "del", a]);
  });
  ip("netns", "add", ns);
  ip("link", "add", a, "type", "veth", "peer", "name", b);
  ip("link", "set", b, "netns", ns);
  ip("addr", "add", `${net.hostIp}/30`, "dev", a);
  ip("link", "set", a, "up");
  ip("netns", "exec", ns, "ip", "addr", "add", `${net.clientIp}/30`, "dev", b);
  ip("netns", "exec", ns, "ip", "link", "set", b, "up");
  ip("netns", "exec", ns, "ip", "link", "set", "lo", "up");
  return net;
}

interface Req {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  ws?: boolean;
  /** Send with node:http, which sends the Host header given (fetch picks its own). */
  nodeHttp?: boolean;
}

/** Runs requests from inside the namespace (a node process there) and returns their statuses. */
async function fromNamespace(net: Net, dir: string, reqs: Req[]): Promise<{ status: number; body: any }[]> {
  const script = join(dir, "client.mjs");
  await writeFile(
    script,
    `import { createRequire } from "node:module";
const WebSocket = createRequire(${JSON.stringify(join(ROOT, "package.json"))})("ws");
const out = [];
for (const r of JSON.parse(process.argv[2])) {
  if (r.ws) {
    out.push(await new Promise((resolve) => {
      const ws = new WebSocket(r.url, { headers: r.headers ?? {} });
      ws.once("open", () => { ws.close(); resolve({ status: 101, body: null }); });
      ws.once("unexpected-response", (_q, res) => resolve({ status: res.statusCode, body: null }));
      ws.once("error", (e) => resolve({ status: 0, body: String(e) }));
    }));
    continue;
  }
  if (r.nodeHttp) {
    const http = await import("node:http");
    out.push(await new Promise((resolve) => {
      const q = http.request(r.url, { method: r.method ?? "GET", headers: r.headers ?? {} }, (res) => {
        let text = ""; res.on("data", (d) => (text += d)); res.on("end", () => resolve({ status: res.statusCode, body: text }));
      });
      q.on("error", (e) => resolve({ status: 0, body: String(e) }));
      q.end();
    }));
    continue;
  }
  try {
    const res = await fetch(r.url, { method: r.method ?? "GET", headers: r.headers ?? {}, body: r.body });
    const text = await res.text();
    let body = text; try { body = JSON.parse(text); } catch {}
    out.push({ status: res.status, body });
  } catch (e) { out.push({ status: 0, body: String(e) }); }
}
console.log(JSON.stringify(out));
`,
  );
  const r = spawnSync("ip", ["netns", "exec", net.ns, process.execPath, script, JSON.stringify(reqs)], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const JSON_TYPE = { "Content-Type": "application/json" };

test("an untrusted address: 401 without the key, the key lets it in, a foreign Origin still cannot write", { skip: SKIP, timeout: 120_000 }, async (t) => {
  const net = makeNet(t);
  const dir = await tempDir(t);
  const s = await serve(t, { host: "0.0.0.0" });
  const key = (await readFile(join(s.data, "api_key"), "utf8")).trim();
  const base = `http://${net.hostIp}:${s.port}`;
  await raw(s.port, "/server/database/item", { method: "POST", headers: JSON_TYPE, body: JSON.stringify({ namespace: "n", key: "k", value: 1 }) });
  const K = { "X-Api-Key": key };
  const got = await fromNamespace(net, dir, [
    { url: `${base}/server/history/list` },
    { url: `${base}/server/jsonrpc`, method: "POST", headers: JSON_TYPE, body: JSON.stringify({ jsonrpc: "2.0", method: "server.history.totals", id: 1 }) },
    { url: `${base}/websocket`.replace("http", "ws"), ws: true },
    { url: `${base}/server/history/list`, headers: K },
    { url: `${base}/websocket`.replace("http", "ws"), ws: true, headers: K },
    { url: `${base}/server/database/item?namespace=n&key=k`, method: "DELETE", headers: { ...K, Origin: "http://evil.example" } },
    { url: `${base}/server/history/reset_totals`, method: "POST", headers: { ...K, Origin: "http://evil.example" } },
    { url: `${base}/websocket`.replace("http", "ws"), ws: true, headers: { ...K, Origin: "http://evil.example" } },
    { url: `${base}/server/history/reset_totals`, method: "POST", headers: { ...K, Origin: base } },
  ]);
  assert.deepEqual(got.map((g) => g.status), [401, 401, 401, 200, 101, 403, 403, 403, 200], JSON.stringify(got));
  assert.equal((await raw(s.port, "/server/database/item?namespace=n&key=k")).body.result.value, 1, "the foreign page deleted nothing");
});

test("a trusted address with a foreign Origin: every write is 403, reads and plain clients are fine", { skip: SKIP, timeout: 120_000 }, async (t) => {
  const net = makeNet(t);
  const dir = await tempDir(t);
  const s = await serve(t, { host: "0.0.0.0", extra: `[authorization]\ntrusted_clients: 127.0.0.0/8, ${net.clientIp}/32\ncors_domains: http://192.168.1.*\n` });
  const base = `http://${net.hostIp}:${s.port}`;
  await raw(s.port, "/server/database/item", { method: "POST", headers: JSON_TYPE, body: JSON.stringify({ namespace: "n", key: "k", value: 1 }) });
  const evil = { Origin: "http://192.168.1.evil.example" };
  const got = await fromNamespace(net, dir, [
    { url: `${base}/server/history/job?all=true`, method: "DELETE", headers: evil },
    { url: `${base}/server/history/reset_totals`, method: "POST", headers: evil },
    { url: `${base}/server/database/item?namespace=n&key=k`, method: "DELETE", headers: evil },
    { url: `${base}/server/jsonrpc`, method: "POST", headers: { ...JSON_TYPE, ...evil }, body: JSON.stringify({ jsonrpc: "2.0", method: "server.database.delete_item", params: { namespace: "n", key: "k" }, id: 1 }) },
    { url: `${base}/websocket`.replace("http", "ws"), ws: true, headers: evil },
    { url: `${base}/server/history/list`, headers: evil },
    { url: `${base}/server/history/totals` },
    { url: `${base}/server/history/reset_totals`, method: "POST", headers: { Origin: "http://192.168.1.7" } },
    // DNS rebinding from the namespace: a Host that is not this machine's.
    { url: `${base}/server/history/list`, headers: { Host: "evil.example" }, nodeHttp: true },
    { url: `${base}/server/history/list`, headers: { Host: `${net.hostIp}:${s.port}` }, nodeHttp: true },
  ]);
  const statuses = got.map((g) => g.status);
  assert.deepEqual(statuses, [403, 403, 403, 403, 403, 200, 200, 200, 403, 200], JSON.stringify(got));
  assert.equal((await raw(s.port, "/server/database/item?namespace=n&key=k")).body.result.value, 1);
});
