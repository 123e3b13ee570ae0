// Access: trusted networks or X-Api-Key, else 401; CORS preflights for configured origins only;
// a WebSocket from a refused origin gets 403.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { AccessPolicy } from "../../src/api/access.js";
import { originMatches, parseOriginPattern } from "../../src/api/host-patterns.js";
import type { Printlog } from "../../src/main.js";
import { http, RpcClient, startInProcess } from "../helpers.js";

let app: Printlog;
let close: () => Promise<void>;

before(async () => {
  ({ app, close } = await startInProcess((c) => {
    c.auth.trustedClients = ["10.0.0.0/8"]; // loopback is NOT trusted here
    c.auth.corsDomains = ["*.local", "http://mainsail.example:8080"];
  }));
});

after(() => close());

test("an untrusted client without the key gets 401 on every transport", async () => {
  const url = app.server.url;
  let r = await http(`${url}/server/history/list`);
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 401);
  r = await http(`${url}/server/jsonrpc`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
  assert.equal(r.status, 401);
  await assert.rejects(RpcClient.connect(url), /HTTP 401/);
});

test("the API key in X-Api-Key lets an untrusted client in", async () => {
  const url = app.server.url;
  const r = await http(`${url}/server/history/list`, { headers: { "X-Api-Key": app.apiKey } });
  assert.equal(r.status, 200);
  // A key one character off (never the key itself, whatever its last character).
  const wrong = app.apiKey.slice(0, -1) + (app.apiKey.endsWith("0") ? "1" : "0");
  const bad = await http(`${url}/server/history/list`, { headers: { "X-Api-Key": wrong } });
  assert.equal(bad.status, 401);
  const ws = await RpcClient.connect(url, { "X-Api-Key": app.apiKey });
  assert.ok((await ws.call("server.history.totals")).result);
  ws.close();
});

test("CORS preflight is answered for allowed origins and refused for others", async () => {
  const url = app.server.url;
  const pre = (origin: string) =>
    fetch(`${url}/server/database/item`, {
      method: "OPTIONS",
      headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" },
    });
  const ok = await pre("http://mainsail.local");
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get("access-control-allow-origin"), "http://mainsail.local");
  assert.match(ok.headers.get("access-control-allow-methods") ?? "", /POST/);
  assert.equal((await pre("http://mainsail.example:8080")).status, 204);
  const refused = await pre("http://evil.example.com");
  assert.equal(refused.status, 403);
  assert.equal(refused.headers.get("access-control-allow-origin"), null);
  const real = await fetch(`${url}/server/history/list`, { headers: { Origin: "http://printer.local", "X-Api-Key": app.apiKey } });
  assert.equal(real.headers.get("access-control-allow-origin"), "http://printer.local");
});

test("a WebSocket from a refused origin gets 403; same-host and allowed origins connect", async () => {
  const url = app.server.url;
  await assert.rejects(RpcClient.connect(url, { Origin: "http://evil.example.com", "X-Api-Key": app.apiKey }), /HTTP 403/);
  const host = new URL(url).host;
  const same = await RpcClient.connect(url, { Origin: `http://${host}`, "X-Api-Key": app.apiKey });
  same.close();
  const allowed = await RpcClient.connect(url, { Origin: "http://fluidd.local", "X-Api-Key": app.apiKey });
  allowed.close();
});

test("AccessPolicy: CIDR ranges, IPv4-mapped IPv6, wildcard domains, trusted-host origins", () => {
  const p = new AccessPolicy(["192.168.1.0/24", "::1/128"], "k".repeat(32), ["*.lan"]);
  assert.equal(p.isTrusted("192.168.1.77"), true);
  assert.equal(p.isTrusted("::ffff:192.168.1.77"), true);
  assert.equal(p.isTrusted("192.168.2.1"), false);
  assert.equal(p.isTrusted("::1"), true);
  assert.equal(p.isTrusted("garbage"), false);
  assert.equal(p.originAllowed("http://printer.lan"), true);
  assert.equal(p.originAllowed("http://printer.lan:81"), true);
  assert.equal(p.originAllowed("http://printer.lan.evil.com"), false);
  assert.equal(p.originAllowed("http://192.168.1.9:8080"), true, "origins on trusted hosts once a domain is configured");
  assert.equal(new AccessPolicy(["192.168.1.0/24"], "", []).originAllowed("http://192.168.1.9"), false);
  assert.equal(originMatches(parseOriginPattern("*.local"), "http://fluidd.local"), true);
  assert.throws(() => new AccessPolicy(["300.1.1.1/8"], "", []), /not an IP address/);
});
