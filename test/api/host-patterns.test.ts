// The pure rules under the access checks, as tables: origin patterns (one label / octet / port per
// `*`, no wildcard TLD), Host parsing and own names, JSON depth, and the refusal-log throttle.

import { test } from "node:test";
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { originMatches, parseOriginPattern, hostPattern } from "../../src/api/host-patterns.js";
import { HostCheck, hostOf } from "../../src/api/host-check.js";
import { nestedDeeperThan } from "../../src/api/json-limits.js";
import { RefusalLog } from "../../src/api/refusal-log.js";
import type { Logger } from "../../src/log.js";

test("origin patterns: a * is one label, one octet or a port", () => {
  const rows: [string, string, boolean][] = [
    ["http://192.168.1.*", "http://192.168.1.20", true],
    ["http://192.168.1.*", "http://192.168.1.255", true],
    ["http://192.168.1.*", "http://192.168.1.256", false],
    ["http://192.168.1.*", "http://192.168.1.evil.example", false],
    ["http://192.168.1.*", "http://192.168.1.20:8080", false],
    ["http://192.168.1.*", "https://192.168.1.20", false],
    ["http://192.168.1.*:*", "http://192.168.1.20:8080", true],
    ["*.local", "http://mainsail.local", true],
    ["*.local", "https://mainsail.local:8443", true],
    ["*.local", "http://a.b.local", false],
    ["*.local", "http://mainsail.local.evil.example", false],
    ["*.local", "http://local", false],
    ["*.local:81", "http://x.local:81", true],
    ["*.local:81", "http://x.local", false],
    ["http://printer.local", "http://printer.local", true],
    ["http://printer.local", "http://printer.local:80", true],
    ["http://printer.local", "http://printer.local:8080", false],
    ["http://printer.local:80", "http://printer.local", true],
    ["*://printer.local", "https://printer.local", true],
    ["https://*.example.com", "https://mainsail.example.com", true],
    ["https://*.example.com", "https://example.com", false],
    ["HTTP://Printer.LOCAL", "http://printer.local", true],
    ["*.local", "null", false],
    ["*.local", "file://x.local", false],
    ["http://[::1]:8080", "http://[::1]:8080", true],
  ];
  for (const [pattern, origin, want] of rows) assert.equal(originMatches(parseOriginPattern(pattern), origin), want, `${pattern} vs ${origin}`);
});

test("origin patterns refused: wildcard TLD or whole host, partial labels, other schemes", () => {
  for (const bad of ["*", "http://*", "http://printer.*", "*.*", "printer.*:8080", "pr*nter.local", "ftp://printer.local", "http://printer.local/", "http://[::*]", "http://1.2.3.4.*"]) {
    assert.throws(() => parseOriginPattern(bad), Error, bad);
  }
  assert.equal(hostPattern("*.lan").test("printer.lan"), true);
  assert.throws(() => hostPattern("lan.*"));
});

test("Host headers: parsing, own names, loopback, configured patterns, refresh", () => {
  assert.equal(hostOf("Printer.Local:7125"), "printer.local");
  assert.equal(hostOf("[::1]:7125"), "[::1]");
  assert.equal(hostOf("printer.local."), "printer.local");
  assert.equal(hostOf("a:b:c"), null);
  assert.equal(hostOf("bad host"), null);
  assert.equal(hostOf("evil.example/x"), null);
  let now = 0;
  const check = new HostCheck(["printer.home.arpa", "*.lan"], () => now);
  for (const ok of [undefined, "localhost", "localhost:1", "127.0.0.1", "127.1.2.3:80", "[::1]", "x.localhost", hostname(), `${hostname().split(".")[0]}.local`, "printer.home.arpa", "p.lan:7125"]) {
    assert.equal(check.allowed(ok), true, String(ok));
  }
  for (const bad of ["evil.example", "printer.home.arpa.evil", "a.b.lan", "", "127.0.0.1.evil.example", "localhost.evil.example"]) {
    now += 10_000;
    assert.equal(check.allowed(bad), false, bad);
  }
  assert.equal(new HostCheck(["*"]).allowed("anything.example"), true);
});

test("JSON depth: counted iteratively, at the limit and past it", () => {
  const deep = (n: number) => JSON.parse("[".repeat(n) + "]".repeat(n));
  assert.equal(nestedDeeperThan(deep(64), 64), false);
  assert.equal(nestedDeeperThan(deep(65), 64), true);
  assert.equal(nestedDeeperThan(deep(200_000), 64), true);
  assert.equal(nestedDeeperThan({ a: [{ b: 1 }], c: "x" }, 3), false);
  assert.equal(nestedDeeperThan(7, 0), false);
});

test("refusals are logged once per kind per interval, with a count of the rest", () => {
  const lines: [string, Record<string, unknown>][] = [];
  const logger = { warn: (e: string, f: Record<string, unknown>) => lines.push([e, f]) } as unknown as Logger;
  let now = 0;
  const log = new RefusalLog(logger, 10_000, () => now);
  for (let i = 0; i < 1000; i++) log.warn("http.refused_host", { host: "evil" });
  log.warn("http.refused_origin", { origin: "evil" });
  now = 10_001;
  log.warn("http.refused_host", { host: "evil" });
  assert.deepEqual(lines.map(([e]) => e), ["http.refused_host", "http.refused_origin", "http.refused_host"]);
  assert.equal(lines[2]![1]["similar_since_last"], 999);
});

test("routine lines a client can cause at will: up to a burst per kind per interval, then a count of the rest", () => {
  const lines: [string, string, Record<string, unknown>][] = [];
  const logger = {
    info: (e: string, f: Record<string, unknown>) => lines.push(["info", e, f]),
    warn: (e: string, f: Record<string, unknown>) => lines.push(["warn", e, f]),
  } as unknown as Logger;
  let now = 0;
  const log = new RefusalLog(logger, 10_000, () => now);
  for (let i = 0; i < 2000; i++) {
    log.routine("info", "websocket.open", { id: i });
    log.routine("warn", "websocket.error", { id: i }, 5);
  }
  assert.equal(lines.filter(([, e]) => e === "websocket.open").length, 20);
  assert.equal(lines.filter(([l, e]) => e === "websocket.error" && l === "warn").length, 5);
  now = 10_000;
  log.routine("info", "websocket.open", { id: "next" });
  assert.deepEqual(lines.at(-1), ["info", "websocket.open", { id: "next", similar_since_last: 1980 }]);
  log.routine("info", "websocket.open", { id: "after" });
  assert.deepEqual(lines.at(-1), ["info", "websocket.open", { id: "after" }], "the count is given once");
});

test("configuration: allowed_hosts from the environment, cors_domains and the WebSocket cap validated", async () => {
  const { loadConfig } = await import("../../src/config/config.js");
  const cfg = loadConfig({ env: { PRINTLOG_ALLOWED_HOSTS: "printer.home.arpa, *.lan", PRINTLOG_CORS_DOMAINS: "*.local" } });
  assert.deepEqual(cfg.auth.allowedHosts, ["printer.home.arpa", "*.lan"]);
  assert.equal(cfg.server.maxWebsocketConnections, 50);
  assert.throws(() => loadConfig({ env: { PRINTLOG_CORS_DOMAINS: "http://printer.*" } }), /cors_domains: .*top-level domain/);
  assert.throws(() => loadConfig({ env: { PRINTLOG_ALLOWED_HOSTS: "lan.*" } }), /allowed_hosts: .*top-level domain/);
  assert.throws(() => loadConfig({ overrides: [["server", "max_websocket_connections", "0"]] }), /max_websocket_connections: expected a whole number from 1/);
});
