// The index on disk: new jobs extend its sorted run, changes after it collect in memory until a
// compaction writes a new sorted index of every job (a new index generation, the job file kept),
// and an index file that is not sorted (an earlier printlog's rewrite) is folded after start-up.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HistoryStore } from "../../src/history/store.js";
import { backupDataDir } from "../../src/history/backup.js";
import { silentLogger } from "../../src/log.js";
import { tempDir } from "../helpers.js";

const open = (dir: string, extra = {}) => HistoryStore.open(dir, { logger: silentLogger, minCompactBytes: 1 << 30, ...extra });

async function addJobs(store: HistoryStore, n: number, from: number): Promise<void> {
  for (let i = from; i < from + n; i++) {
    const j = await store.startJob({ filename: `f${i}.gcode`, start_time: 1000 + i * 10, metadata: { size: i } });
    await store.finishJob(j.job_id, i % 5 === 0 ? "cancelled" : "completed", 1005 + i * 10, { total_duration: 5, print_duration: 4, filament_used: 2 }, "done");
  }
}

/** A data directory of `n` jobs, compacted, its store closed. */
async function compactedHistory(t: { after(fn: () => unknown): void }, n: number): Promise<string> {
  const dir = await tempDir(t);
  const store = await open(dir);
  await addJobs(store, n, 0);
  await store.durable.compactNow();
  await store.close();
  return dir;
}

const ids = (store: HistoryStore, order: "ASC" | "DESC" = "ASC") => store.select({ limit: 0, start: 0, before: -1, since: -1, order }).map((p) => store.jobAt(p)!.job_id);
const expected = (nums: number[]) => nums.map((n) => n.toString(16).toUpperCase().padStart(6, "0"));
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const indexFiles = async (dir: string) => (await readdir(dir)).filter((f) => f.startsWith("history-index")).sort();

test("changes after the sorted run are folded into a new index generation once they outgrow it; nothing is lost", async (t) => {
  const dir = await tempDir(t);
  const store = await open(dir);
  await addJobs(store, 10, 0);
  await store.durable.compactNow();
  // New jobs appended to a sorted run extend it: nothing waits in memory, nothing is rewritten.
  for (let k = 1; k < 4; k++) {
    await addJobs(store, 10, k * 10);
    await store.durable.compactNow();
    assert.equal(store.durable.state.index.overlaySize, 0, `overlay after append ${k}`);
    assert.equal(store.durable.state.index.run.count, 10 + k * 10);
  }
  assert.deepEqual(await indexFiles(dir), ["history-index.1.bin"]);
  assert.deepEqual(ids(store), expected(range(1, 40)));
  // A deletion ends the sorted run: what follows is held in memory until folded.
  assert.equal(await store.deleteJob("000005"), true);
  await store.durable.compactNow();
  const state = store.durable.state;
  let folded = false;
  for (let k = 0; k < 22; k++) {
    await addJobs(store, 100, 40 + k * 100);
    await store.durable.compactNow();
    if ((await indexFiles(dir)).includes("history-index.1.1.bin")) folded = true;
  }
  assert.ok(folded, `a new index generation was written: ${(await indexFiles(dir)).join(", ")}`);
  assert.deepEqual(await indexFiles(dir), ["history-index.1.1.bin"], "the old index file is removed once the document names the new one");
  assert.ok(state.index.overlaySize < 2048, `overlay after the fold: ${state.index.overlaySize}`);
  const want = expected(range(1, 2240).filter((n) => n !== 5));
  assert.deepEqual(ids(store), want);
  assert.deepEqual(ids(store, "DESC"), [...want].reverse());
  assert.equal(store.getJob("000006")?.filename, "f5.gcode");
  assert.equal(store.getJob("000005"), undefined);
  const totals = store.totals().job_totals.total_jobs;
  await store.close();

  // A backup copies the index generation the document names.
  const copy = join(await tempDir(t), "copy");
  await backupDataDir(dir, copy);
  const restored = await open(copy);
  assert.deepEqual(ids(restored), want, "the backup holds every job");
  await restored.close();

  const again = await open(dir);
  assert.deepEqual(ids(again), want, "the same after a restart");
  assert.equal(again.totals().job_totals.total_jobs, totals);
  assert.ok(again.durable.state.index.overlaySize < 2048, `overlay at load: ${again.durable.state.index.overlaySize}`);
  await again.close();
});

test("an index file written out of order (an earlier printlog's rewrite) is served at once and folded in the background", async (t) => {
  const dir = await compactedHistory(t, 3000);
  // Reverse the entries (each carries its own CRC): nothing of it is a sorted run any more.
  const [name] = await indexFiles(dir);
  const file = join(dir, name!);
  const buf = await readFile(file);
  const entries = (buf.length - 48) / 48;
  const out = Buffer.alloc(buf.length);
  buf.copy(out, 0, 0, 48);
  for (let e = 0; e < entries; e++) buf.copy(out, 48 + (entries - 1 - e) * 48, 48 + e * 48, 48 + (e + 1) * 48);
  await writeFile(file, out);

  const again = await open(dir);
  assert.deepEqual(ids(again), expected(range(1, 3000)), "served right away, from memory");
  // The fold starts by itself after start-up (no journal to compact, no call from here).
  for (let i = 0; i < 200 && (await indexFiles(dir)).includes(name!); i++) await new Promise((r) => setTimeout(r, 50));
  const folded = await indexFiles(dir);
  assert.equal(folded.length, 1);
  assert.notEqual(folded[0], name, "a new index generation");
  assert.equal(again.durable.state.index.overlaySize, 0);
  assert.deepEqual(ids(again), expected(range(1, 3000)));
  assert.equal(again.getJob("000BB8")?.filename, "f2999.gcode");
  await again.close();
  const third = await open(dir);
  assert.equal(third.durable.state.index.overlaySize, 0, "a sorted run after the fold");
  assert.deepEqual(ids(third, "DESC").slice(0, 3), expected([3000, 2999, 2998]));
  await third.close();
});

test("an index entry that rots after start-up is reported with file and byte when read, not served", async (t) => {
  const dir = await compactedHistory(t, 300);
  const again = await open(dir);
  const [name] = await indexFiles(dir);
  const file = join(dir, name!);
  const buf = await readFile(file);
  const at = 48 + 299 * 48 + 9; // job 300's start time (read by position, after the load checked it)
  buf[at] = buf[at]! ^ 0x01;
  await writeFile(file, buf);
  assert.throws(() => again.getJob("00012C"), (e: unknown) => e instanceof Error && e.message.includes(`${name} byte ${48 + 299 * 48}: index entry checksum mismatch`));
  assert.equal(again.getJob("000001")?.filename, "f0.gcode", "the other pages are served");
  await again.close();
});

test("random histories: the store equals a plain model through every kind of compaction and restart", { timeout: 300_000 }, async (t) => {
  const fc = (await import("fast-check")).default;
  const root = await tempDir(t);
  let runNo = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.oneof(
          { weight: 6, arbitrary: fc.record({ op: fc.constant("add" as const), n: fc.integer({ min: 1, max: 6 }) }) },
          { weight: 3, arbitrary: fc.record({ op: fc.constant("delete" as const), n: fc.nat() }) },
          { weight: 2, arbitrary: fc.record({ op: fc.constant("compact" as const), n: fc.nat() }) },
          { weight: 1, arbitrary: fc.record({ op: fc.constant("reopen" as const), n: fc.nat() }) },
          { weight: 1, arbitrary: fc.record({ op: fc.constant("clear" as const), n: fc.nat() }) },
        ),
        { maxLength: 40 },
      ),
      async (ops) => {
        const dir = join(root, `h${runNo++}`);
        const opts = { indexOverlayMin: 4 };
        let store = await open(dir, opts);
        const model: number[] = [];
        let next = 1;
        try {
          for (const o of ops) {
            if (o.op === "add") {
              await addJobs(store, o.n, next - 1);
              for (let i = 0; i < o.n; i++) model.push(next++);
            } else if (o.op === "delete" && model.length > 0) {
              const [num] = model.splice(o.n % model.length, 1);
              assert.equal(await store.deleteJob(expected([num!])[0]!), true);
            } else if (o.op === "compact") await store.durable.compactNow();
            else if (o.op === "reopen") {
              await store.close();
              store = await open(dir, opts);
            } else if (o.op === "clear" && o.n % 3 === 0) {
              await store.deleteAll();
              model.length = 0;
            }
            assert.deepEqual(ids(store), expected(model), `after ${o.op}`);
          }
          assert.deepEqual(ids(store, "DESC"), expected([...model].reverse()));
          for (const num of model.slice(-3)) assert.equal(store.getJob(expected([num])[0]!)?.filename, `f${num - 1}.gcode`);
          await store.close();
          store = await open(dir, opts);
          assert.deepEqual(ids(store), expected(model), "after a last restart");
        } finally {
          await store.close();
        }
      },
    ),
    { numRuns: 25 },
  );
});
