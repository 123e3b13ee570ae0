// Faults the history store survives: bit rot (journal, document, job bodies, index entries), a
// gap in the journal or a journal older than the document, a compaction that stopped half way,
// a compaction that fails, and the rewrite of the job files once most of them are dead.

import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFile, copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HistoryError } from "../../src/history/errors.js";
import { HistoryStore } from "../../src/history/store.js";
import { memoryLogger, silentLogger } from "../../src/log.js";
import { http, startCli, tempDir } from "../helpers.js";

const open = (dir: string, extra = {}) => HistoryStore.open(dir, { logger: silentLogger, ...extra });

async function addJobs(store: HistoryStore, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) {
    const j = await store.startJob({ filename: `f${i}.gcode`, start_time: 1000 + i * 10, metadata: { size: i, slicer: "PrusaSlicer" } });
    await store.finishJob(j.job_id, "completed", 1005 + i * 10, { total_duration: 5, print_duration: 4, filament_used: 2 }, "done");
  }
}

/** Flips one byte of `file` at `at` (a digit to another digit, so the JSON stays valid). */
async function rot(file: string, at: number): Promise<void> {
  const buf = await readFile(file);
  const c = buf[at]!;
  buf[at] = c >= 0x30 && c <= 0x38 ? c + 1 : c === 0x39 ? 0x30 : c ^ 0x01;
  await writeFile(file, buf);
}

test("bit rot in a job body is reported with file and byte, not served; the other jobs are", async (t) => {
  const dir = await tempDir(t);
  const store = await open(dir);
  await addJobs(store, 5);
  await store.durable.compactNow();
  await store.close();
  const jobsFile = join(dir, "history-jobs.1.jsonl");
  const text = await readFile(jobsFile, "utf8");
  const at = Buffer.byteLength(text.slice(0, text.indexOf('"filename":"f2.gcode"'))) + 13; // the "2" of f2
  await rot(jobsFile, at);
  const again = await open(dir);
  assert.throws(() => again.getJob("000003"), (e: unknown) => e instanceof HistoryError && e.code === "record_corrupt" && e.message.includes("history-jobs.1.jsonl byte ") && /checksum/.test(e.message));
  assert.equal(again.getJob("000002")?.filename, "f1.gcode");
  assert.equal(again.getJob("000004")?.filename, "f3.gcode");
  await again.close();
});

test("bit rot in an index entry is reported at start-up and that job is not served", async (t) => {
  const dir = await tempDir(t);
  const store = await open(dir);
  await addJobs(store, 4);
  await store.durable.compactNow();
  await store.close();
  await rot(join(dir, "history-index.1.bin"), 48 * 2 + 9); // entry 2 (job 2), its start time
  const logger = memoryLogger();
  const again = await open(dir, { logger });
  assert.ok(again.warnings.some((w) => /history-index\.1\.bin byte 96: index entry checksum mismatch/.test(w)), again.warnings.join("\n"));
  assert.ok(logger.lines.some((l) => l.includes("history.record_corrupt")));
  assert.deepEqual([...again.jobs].map((j) => j.job_id), ["000001", "000003", "000004"]);
  await again.close();
});

test("bit rot in a journal record refuses start-up, naming file, line and byte", async (t) => {
  const dir = await tempDir(t);
  const store = await open(dir);
  await addJobs(store, 3);
  await store.close();
  const path = join(dir, "history.jsonl");
  const text = await readFile(path, "utf8");
  const lines = text.split("\n");
  const at = Buffer.byteLength(lines.slice(0, 2).join("\n") + "\n") + lines[2]!.indexOf('"time":') + 8;
  await rot(path, at);
  await assert.rejects(open(dir), (e: unknown) => {
    assert.ok(e instanceof HistoryError && e.code === "journal_corrupt");
    assert.match(e.message, /history\.jsonl:3 \(byte \d+\): checksum mismatch/);
    return true;
  });
});

test("bit rot in the compacted document refuses start-up, naming the file", async (t) => {
  const dir = await tempDir(t);
  const store = await open(dir);
  await addJobs(store, 3);
  await store.durable.compactNow();
  await store.close();
  const doc = join(dir, "history.json");
  const text = await readFile(doc, "utf8");
  await rot(doc, text.indexOf('"total_jobs":') + 13);
  await assert.rejects(open(dir), (e: unknown) => e instanceof HistoryError && e.code === "snapshot_corrupt" && e.message.includes("history.json") && /checksum/.test(e.message));
});

test("a journal that follows a newer document than the one present: said loudly, its jobs kept", async (t) => {
  const dir = await tempDir(t);
  const saved = join(dir, "saved");
  const data = join(dir, "data");
  const store = await open(data);
  await addJobs(store, 2);
  await store.durable.compactNow();
  await mkdir(saved);
  await copyFile(join(data, "history.json"), join(saved, "history.json")); // an old document
  await addJobs(store, 2, 2);
  await store.durable.compactNow();
  await addJobs(store, 1, 4); // in the journal only
  await store.close();
  await copyFile(join(saved, "history.json"), join(data, "history.json"));
  const logger = memoryLogger();
  const again = await open(data, { logger });
  assert.ok(logger.lines.some((l) => l.includes("journal.gap")), logger.lines.join("\n"));
  assert.ok(again.warnings.some((w) => /records \d+\.\.\d+ are missing/.test(w)));
  const ids = [...again.jobs].map((j) => j.job_id);
  assert.ok(ids.includes("000005"), `the journal's job is kept: ${ids.join(",")}`);
  await again.close();
});

test("records missing at the start of the journal are reported", async (t) => {
  const dir = await tempDir(t);
  const store = await open(dir);
  await addJobs(store, 3);
  await store.close();
  const path = join(dir, "history.jsonl");
  const lines = (await readFile(path, "utf8")).split("\n");
  await writeFile(path, [lines[0], ...lines.slice(3)].join("\n")); // header kept, records 1-2 gone
  const logger = memoryLogger();
  const again = await open(dir, { logger });
  assert.ok(again.warnings.some((w) => /records 1\.\.2 are missing/.test(w)), again.warnings.join("\n"));
  await again.close();
});

test("a journal older than the document is reported and nothing is applied twice", async (t) => {
  const dir = await tempDir(t);
  const store = await open(dir);
  await addJobs(store, 2);
  await store.durable.compactNow();
  await addJobs(store, 1, 2);
  const old = await readFile(join(dir, "history.jsonl"));
  await store.durable.compactNow();
  await addJobs(store, 1, 3);
  await store.durable.compactNow();
  await store.close();
  await writeFile(join(dir, "history.jsonl"), old);
  const logger = memoryLogger();
  const again = await open(dir, { logger });
  assert.ok(logger.lines.some((l) => l.includes("journal.stale")), logger.lines.join("\n"));
  assert.equal(again.count, 4);
  assert.equal(again.totals().job_totals.total_jobs, 4);
  await again.close();
});

test("a compaction that stopped half way (bytes past the committed lengths, a temp document) is undone", async (t) => {
  const dir = await tempDir(t);
  const store = await open(dir);
  await addJobs(store, 3);
  await store.durable.compactNow();
  await store.close();
  const jobsFile = join(dir, "history-jobs.1.jsonl");
  const size = (await stat(jobsFile)).size;
  await appendFile(jobsFile, '{"v":2,"crc":"00000000","job":{"half":');
  await appendFile(join(dir, "history-index.1.bin"), Buffer.alloc(30, 7));
  await writeFile(join(dir, "history.json.tmp"), "{half");
  const again = await open(dir);
  assert.equal(again.count, 3);
  assert.equal((await stat(jobsFile)).size, size, "uncommitted bytes cut off");
  assert.equal((await readdir(dir)).includes("history.json.tmp"), false);
  await addJobs(again, 2, 3);
  await again.durable.compactNow();
  await again.close();
  const third = await open(dir);
  assert.deepEqual([...third.jobs].map((j) => j.filename), ["f0.gcode", "f1.gcode", "f2.gcode", "f3.gcode", "f4.gcode"]);
  await third.close();
});

test("a failed compaction changes nothing and does not block the next one", async (t) => {
  const dir = await tempDir(t);
  const logger = memoryLogger();
  const store = await open(dir, { logger, minCompactBytes: 4000, retryMs: 50 });
  await mkdir(join(dir, "history.json.tmp")); // the temp document cannot be created
  await addJobs(store, 20);
  assert.ok(logger.lines.some((l) => l.includes("store.compact_failed")), "the failure is logged");
  assert.equal(store.count, 20);
  await rm(join(dir, "history.json.tmp"), { recursive: true });
  await new Promise((r) => setTimeout(r, 100));
  await addJobs(store, 20, 20);
  await store.close();
  const journal = (await readFile(join(dir, "history.jsonl"), "utf8")).length;
  assert.ok(journal < 4000 + 2000, `a later compaction ran (journal ${journal} bytes)`);
  const again = await open(dir);
  assert.equal(again.count, 40);
  assert.equal(again.totals().job_totals.total_jobs, 40);
  await again.close();
});

test("after deleting most jobs, a compaction writes a new generation of job files and drops the old", async (t) => {
  const dir = await tempDir(t);
  const store = await open(dir);
  const big = { notes: "x".repeat(20_000) };
  for (let i = 0; i < 300; i++) {
    const j = await store.startJob({ filename: `f${i}.gcode`, start_time: i, metadata: big });
    await store.finishJob(j.job_id, "completed", i + 1, { total_duration: 1 }, "done");
  }
  await store.durable.compactNow();
  for (let i = 1; i <= 250; i++) await store.deleteJob(i.toString(16).toUpperCase().padStart(6, "0"));
  await store.durable.compactNow();
  const files = (await readdir(dir)).filter((f) => f.startsWith("history-"));
  assert.deepEqual(files.sort(), ["history-index.2.bin", "history-jobs.2.jsonl"].sort(), files.join(", "));
  assert.ok((await stat(join(dir, "history-jobs.2.jsonl"))).size < 51 * 21_000);
  await store.close();
  const again = await open(dir);
  assert.equal(again.count, 50);
  assert.equal(again.getJob("0000FB")?.filename, "f250.gcode");
  assert.equal((await again.startJob({ filename: "n", start_time: 1 })).job_id, "00012D");
  await again.close();
});

test("problems found at start-up are in server.info's warnings, which the web clients show", { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const store = await open(dir);
  await addJobs(store, 3);
  await store.close();
  const path = join(dir, "history.jsonl");
  const lines = (await readFile(path, "utf8")).split("\n");
  await writeFile(path, [lines[0], ...lines.slice(3)].join("\n"));
  const pl = await startCli(["serve", "--device", "none", "--host", "127.0.0.1", "--http-port", "0", "--data-dir", dir]);
  t.after(() => pl.stop("SIGKILL"));
  const info = await http(`${pl.url}/server/info`);
  assert.ok(info.body.result.warnings.some((w: string) => /records 1\.\.2 are missing/.test(w)), JSON.stringify(info.body.result.warnings));
});

test("compactions asked for at the same time run one after the other, and nothing is lost", async (t) => {
  const dir = await tempDir(t);
  const store = await open(dir, { minCompactBytes: 3000 });
  const writes = (async () => addJobs(store, 60))();
  const asked: Promise<void>[] = [];
  for (let i = 0; i < 20; i++) {
    asked.push(store.durable.compactNow());
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all([writes, ...asked]);
  await store.close();
  const again = await open(dir);
  assert.equal(again.count, 60);
  assert.deepEqual([...again.jobs].map((j) => j.filename), Array.from({ length: 60 }, (_, i) => `f${i}.gcode`));
  await again.close();
});
