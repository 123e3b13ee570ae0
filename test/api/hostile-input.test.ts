// Bad input through the real process gets a clear 4xx, never a 500: bodies over 1 MiB (announced
// or chunked, sent or not) 413, malformed percent-encoding 400, ENOTDIR / ENAMETOOLONG 404 / 400, JSON nested
// deeper than the stack 400, and spool_id only whole numbers. The server keeps serving after each.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { connect } from "node:net";
import WebSocket from "ws";
import { tempDir } from "../helpers.js";
import { deepArray, raw, rssMiB, serve, type Served } from "./hostile-helpers.js";

let s: Served;
let gcodes: string;

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

before(async () => {
  const t = { after: (fn: () => unknown) => cleanups.push(fn) };
  gcodes = join(await tempDir(t), "gcodes");
  await mkdir(gcodes, { recursive: true });
  await writeFile(join(gcodes, "a.gcode"), "G28\n");
  s = await serve(t, { extra: `gcode_dir: ${gcodes}\n` });
});

const JSON_HEADERS = { "Content-Type": "application/json" };

async function stillServing(): Promise<void> {
  const r = await raw(s.port, "/server/history/totals");
  assert.equal(r.status, 200, "the server still answers");
}

test("a body over 1 MiB is 413 whether announced or chunked, on every write route", { timeout: 60_000 }, async () => {
  const big = JSON.stringify({ namespace: "x", key: "k", value: "v".repeat(1024 * 1024 + 10) });
  for (const path of ["/server/database/item", "/server/jsonrpc", "/server/spoolman/spool_id"]) {
    for (const chunk of [undefined, 64 * 1024]) {
      const r = await raw(s.port, path, { method: "POST", headers: JSON_HEADERS, body: big, ...(chunk ? { chunk } : {}) });
      assert.equal(r.status, 413, `${path} chunked=${!!chunk}: ${r.text.slice(0, 200)}`);
      assert.match(r.body.error.message, /larger than 1048576 bytes/);
    }
  }
  // Whatever its type.
  const plain = await raw(s.port, "/server/history/reset_totals", { method: "POST", headers: { "Content-Type": "text/plain" }, body: "x".repeat(2 * 1024 * 1024), chunk: 256 * 1024 });
  assert.equal(plain.status, 413, plain.text.slice(0, 200));
  // A body just under the cap is read and judged on its content.
  const ok = await raw(s.port, "/server/database/item", { method: "POST", headers: JSON_HEADERS, body: JSON.stringify({ namespace: "x", key: "k", value: "v", padding: "p".repeat(1000 * 1000) }), chunk: 100_000 });
  assert.equal(ok.status, 200, ok.text.slice(0, 200));
  await stillServing();
});

test("a body over 1 MiB announced and never sent (or stopping halfway) is answered 413 at once, not at the request timeout", { timeout: 60_000 }, async () => {
  for (const [path, sent] of [["/server/jsonrpc", 0], ["/server/database/item", 300_000], ["/server/history/reset_totals", 0]] as const) {
    const at = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = connect(s.port, "127.0.0.1");
      let got = "";
      sock.on("data", (d) => {
        got += d.toString();
        if (got.includes("\r\n\r\n")) {
          sock.destroy();
          resolve(got);
        }
      });
      sock.on("error", reject);
      sock.on("close", () => resolve(got));
      sock.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`);
      if (sent) sock.write(" ".repeat(sent));
    });
    assert.match(answer, /^HTTP\/1\.1 413 /, `${path}: ${answer.slice(0, 200)}`);
    // Node's request timeout (30 s) would answer 408; the body's idle limit is 2 s.
    assert.ok(Date.now() - at < 15_000, `${path}: answered after ${Date.now() - at} ms`);
  }
  await stillServing();
});

test("malformed percent-encoding and NUL in a path are 400, not 500", async () => {
  for (const path of ["/server/files/gcodes/%E0%A4%A.gcode", "/server/files/gcodes/%zz", "/server/files/gcodes/a%00.gcode", "/server/history/%C0"]) {
    const r = await raw(s.port, path);
    assert.equal(r.status, 400, `${path}: ${r.text}`);
    assert.equal(typeof r.body.error.message, "string");
  }
  await stillServing();
});

test("ENOTDIR and ENAMETOOLONG in file paths are 404 and 400", async () => {
  const notDir = await raw(s.port, "/server/files/gcodes/a.gcode/inside.gcode");
  assert.equal(notDir.status, 404, notDir.text);
  const long = await raw(s.port, `/server/files/gcodes/${"n".repeat(300)}.gcode`);
  assert.equal(long.status, 400, long.text);
  const dir = await raw(s.port, "/server/files/directory?path=gcodes/a.gcode/x");
  assert.ok(dir.status === 400 || dir.status === 404, `${dir.status} ${dir.text}`);
  const longDir = await raw(s.port, `/server/files/directory?path=gcodes/${"d".repeat(5000)}`);
  assert.ok(longDir.status === 400 || longDir.status === 404, `${longDir.status} ${longDir.text}`);
  await stillServing();
});

test("JSON nested far deeper than the stack is a 400 (body, type hint, JSON-RPC over HTTP and WebSocket)", { timeout: 60_000 }, async () => {
  const cases: [string, string, string][] = [
    ["POST", "/server/spoolman/spool_id", `{"spool_id":${deepArray(100_000)}}`],
    ["DELETE", "/server/history/job", `{"uid":${deepArray(100_000)}}`],
    ["POST", "/server/database/item", `{"namespace":"n","key":"k","value":${deepArray(6000)}}`],
  ];
  for (const [method, path, body] of cases) {
    const r = await raw(s.port, path, { method, headers: JSON_HEADERS, body });
    assert.equal(r.status, 400, `${method} ${path}: ${r.text.slice(0, 200)}`);
    assert.match(r.body.error.message, /nested deeper than 64/);
  }
  const hint = await raw(s.port, `/server/database/item?namespace=n&key=k&value:json=${encodeURIComponent(deepArray(2000))}`, { method: "POST" });
  assert.equal(hint.status, 400, hint.text.slice(0, 200));
  // A value nested within the limits (the database's own is 32 levels) is fine.
  const fine = await raw(s.port, "/server/database/item", { method: "POST", headers: JSON_HEADERS, body: `{"namespace":"n","key":"k","value":${deepArray(20)}}` });
  assert.equal(fine.status, 200, fine.text);

  const rpc = await raw(s.port, "/server/jsonrpc", { method: "POST", headers: JSON_HEADERS, body: `{"jsonrpc":"2.0","method":"server.history.get_job","params":{"uid":${deepArray(100_000)}},"id":7}` });
  assert.equal(rpc.status, 200);
  assert.equal(rpc.body.error.code, -32600);
  assert.equal(rpc.body.id, 7);

  const ws = new WebSocket(`ws://127.0.0.1:${s.port}/websocket`);
  await new Promise((r, j) => ws.once("open", r).once("error", j));
  const reply = new Promise<any>((r) => ws.once("message", (d) => r(JSON.parse(d.toString()))));
  ws.send(`{"jsonrpc":"2.0","method":"server.spoolman.post_spool_id","params":{"spool_id":${deepArray(100_000)}},"id":"deep"}`);
  const m = await reply;
  assert.equal(m.id, "deep");
  assert.equal(m.error.code, -32600);
  ws.close();
  await stillServing();
});

test("spool_id takes whole numbers and integer strings only", async () => {
  const post = (v: string) => raw(s.port, "/server/spoolman/spool_id", { method: "POST", headers: JSON_HEADERS, body: `{"spool_id":${v}}` });
  for (const bad of ["1.5", "true", '"1e3"', '"1.0"', '"seven"', "-3", "[1]", '{"a":1}']) {
    const r = await post(bad);
    assert.equal(r.status, 400, `${bad}: ${r.text}`);
  }
  assert.equal((await raw(s.port, "/server/spoolman/spool_id?spool_id=1.5", { method: "POST" })).status, 400);
  for (const [good, want] of [["7", 7], ['"7"', 7], ["null", null]] as const) {
    const r = await post(good);
    assert.equal(r.status, 200, `${good}: ${r.text}`);
    assert.equal(r.body.result.spool_id, want);
  }
  const current = await raw(s.port, "/server/spoolman/spool_id");
  assert.equal(current.body.result.spool_id, null);
});

test("a WebSocket client flooding pings while reading nothing is dropped before its pongs pile up", { timeout: 120_000 }, async (t) => {
  const base = rssMiB(s.pl.proc.pid!);
  // A hand-made client: the handshake, then masked ping frames only, and nothing read back.
  const sock = connect(s.port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.write(`GET /websocket HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.alloc(16, 7).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    let head = "";
    const on = (d: Buffer) => {
      head += d.toString("latin1");
      if (head.includes("\r\n\r\n")) {
        sock.off("data", on);
        assert.match(head, /^HTTP\/1\.1 101/);
        resolve();
      }
    };
    sock.on("data", on);
  });
  sock.pause(); // read nothing more: the pongs stay with the server
  sock.on("error", () => undefined);
  let gone = false;
  sock.once("close", () => (gone = true));
  const frame = Buffer.concat([Buffer.from([0x89, 0x80 | 125, 1, 2, 3, 4]), Buffer.alloc(125, 0x55)]);
  const burst = Buffer.concat(Array.from({ length: 8000 }, () => frame)); // ~1 MB of pings
  let sent = 0;
  let peak = base;
  while (!gone && sent < 400 * 2 ** 20) {
    if (!sock.write(burst)) await new Promise((r) => setTimeout(r, 5));
    sent += burst.length;
    peak = Math.max(peak, rssMiB(s.pl.proc.pid!));
    await new Promise((r) => setImmediate(r));
  }
  t.diagnostic(`${(sent / 2 ** 20).toFixed(0)} MiB of pings sent; server RSS ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB; dropped: ${gone}`);
  sock.destroy();
  assert.ok(gone, "the client was dropped");
  assert.ok(peak - base < 100, `server RSS ${base.toFixed(0)} -> ${peak.toFixed(0)} MiB`);
  await stillServing();
});
