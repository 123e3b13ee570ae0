// The database store (server.database.*): names are plain data, nesting and size are limited
// with a clear 400/413, and it shares the history's durability (checksums, compaction that
// never blocks the next one). Through the real process and HTTP where it matters.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Database, MAX_NAMESPACE_BYTES } from "../../src/database/store.js";
import { HistoryError } from "../../src/history/errors.js";
import { memoryLogger, silentLogger } from "../../src/log.js";
import { http, jsonBody, startCli, tempDir } from "../helpers.js";

const serveArgs = (dir: string) => ["serve", "--device", "none", "--host", "127.0.0.1", "--http-port", "0", "--data-dir", dir];

test("constructor, __proto__, toString are ordinary namespaces and keys, before and after a restart", { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  let pl = await startCli(serveArgs(dir));
  t.after(() => pl.stop("SIGKILL"));
  const post = (namespace: string, key: unknown, value: unknown) => http(`${pl.url}/server/database/item`, jsonBody({ namespace, key, value }));
  const get = (namespace: string, key?: string) => http(`${pl.url}/server/database/item?namespace=${namespace}${key ? `&key=${encodeURIComponent(key)}` : ""}`);
  for (const [ns, key, value] of [
    ["constructor", "keys", 1],
    ["__proto__", "toString", "s"],
    ["toString", "constructor.prototype", { a: 1 }],
    ["notes", "__proto__", { polluted: true }],
    ["notes", ["hasOwnProperty", "x"], 2],
  ] as const) {
    const r = await post(ns, key, value);
    assert.equal(r.status, 200, `${ns} ${JSON.stringify(key)}: ${JSON.stringify(r.body)}`);
  }
  assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
  const check = async () => {
    assert.equal((await get("constructor", "keys")).body.result.value, 1);
    assert.equal((await get("__proto__", "toString")).body.result.value, "s");
    assert.deepEqual((await get("toString", "constructor.prototype")).body.result.value, { a: 1 });
    assert.equal(JSON.stringify((await get("notes")).body.result.value), '{"__proto__":{"polluted":true},"hasOwnProperty":{"x":2}}');
    assert.equal((await get("constructor", "toString")).status, 404, "inherited names are not keys");
    const list = await http(`${pl.url}/server/database/list`);
    assert.deepEqual(list.body.result.namespaces.sort(), ["__proto__", "constructor", "notes", "toString"].sort());
  };
  await check();
  await pl.stop("SIGKILL");
  pl = await startCli(serveArgs(dir)); // today this start-up crashed
  await check();
});

test("nesting deeper than the limit is a 400, an oversized item or namespace a 413", { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const pl = await startCli(serveArgs(dir));
  t.after(() => pl.stop("SIGKILL"));
  const post = (namespace: string, key: unknown, value: unknown) => http(`${pl.url}/server/database/item`, jsonBody({ namespace, key, value }));
  let deep: unknown = 1;
  for (let i = 0; i < 40; i++) deep = { d: deep };
  const d = await post("ns", "deep", deep);
  assert.equal(d.status, 400);
  assert.match(d.body.error.message, /nested deeper than 32 levels/);
  const k = await post("ns", Array.from({ length: 17 }, (_, i) => `k${i}`).join("."), 1);
  assert.equal(k.status, 400);
  const big = await post("ns", "big", "x".repeat(600 * 1024));
  assert.equal(big.status, 413);
  assert.match(big.body.error.message, /larger than 524288 bytes/);
  let last = 200;
  let i = 0;
  for (; i < 12 && last === 200; i++) last = (await post("full", `k${i}`, "y".repeat(500 * 1024))).status;
  assert.equal(last, 413, "the namespace limit");
  assert.ok(i * 500 * 1024 > MAX_NAMESPACE_BYTES);
  assert.equal((await post("other", "k", "fine")).status, 200, "other namespaces are unaffected");
});

test("a failed database compaction changes nothing and does not block the next one", async (t) => {
  const dir = await tempDir(t);
  const logger = memoryLogger();
  const db = await Database.open(dir, { logger, minCompactBytes: 2000, retryMs: 50 });
  await mkdir(join(dir, "database.json.tmp"));
  for (let i = 0; i < 20; i++) await db.post("notes", `k${i}`, "v".repeat(200));
  assert.ok(logger.lines.some((l) => l.includes("store.compact_failed")));
  await rm(join(dir, "database.json.tmp"), { recursive: true });
  await new Promise((r) => setTimeout(r, 100));
  for (let i = 20; i < 40; i++) await db.post("notes", `k${i}`, "v".repeat(200));
  await db.close();
  assert.ok((await readFile(join(dir, "database.jsonl"), "utf8")).length < 4000, "a later compaction ran");
  const again = await Database.open(dir, { logger: silentLogger });
  assert.equal(Object.keys(again.get("notes") as object).length, 40);
  await again.close();
});

test("bit rot in the database journal is reported with file and line, not served", async (t) => {
  const dir = await tempDir(t);
  const db = await Database.open(dir, { logger: silentLogger });
  await db.post("notes", "a", "hello world");
  await db.post("notes", "b", "second");
  await db.close();
  const path = join(dir, "database.jsonl");
  await writeFile(path, (await readFile(path, "utf8")).replace("hello world", "hellO world"));
  await assert.rejects(Database.open(dir, { logger: silentLogger }), (e: unknown) => e instanceof HistoryError && /database\.jsonl:2 \(byte \d+\): checksum mismatch/.test(e.message));
});
