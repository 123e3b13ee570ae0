// A data directory written by the previous format (test/fixtures/v1-data: made by printlog
// 332f890 with a compaction, a journal after it, a deletion, an amend, a setting, notes and a
// job still running at a simulated power cut) is migrated on first start with nothing lost:
// the answers equal what that printlog gave (test/fixtures/v1-data.expected.json).

import { test } from "node:test";
import assert from "node:assert/strict";
import { cp, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { presentJob } from "../../src/api/history-methods.js";
import { Database } from "../../src/database/store.js";
import { HistoryStore } from "../../src/history/store.js";
import { memoryLogger, silentLogger } from "../../src/log.js";
import { ROOT, tempDir } from "../helpers.js";

const FIXTURE = join(ROOT, "test", "fixtures", "v1-data");
const specs = [{ provider: "sensor power", field: "energy", reportTotal: true, reportMaximum: true, precision: 4 }];

/** The interrupted event carries the time of the start-up that marked it: not comparable. */
function normalise(jobs: unknown[]): unknown[] {
  return JSON.parse(JSON.stringify(jobs), (k, v) => (k === "timeline" ? (v as { event: string }[]).map((e) => (e.event === "interrupted" ? { ...e, time: 0 } : e)) : v));
}

async function answers(dir: string) {
  const store = await HistoryStore.open(dir, { logger: silentLogger, auxTotalSpecs: specs });
  const db = await Database.open(dir, { logger: silentLogger });
  const jobs = normalise([...store.jobs].map((j) => presentJob(j, () => false)));
  const out = {
    jobs,
    totals: store.totals(),
    spool: store.setting("spoolman.active_spool"),
    nextJob: (await store.startJob({ filename: "x", start_time: 1 })).job_id,
    database: JSON.parse(JSON.stringify(Object.fromEntries(db.namespaces().map((n) => [n, db.get(n)])))),
  };
  await db.close();
  await store.close();
  return out;
}

test("a format-1 data directory is migrated on first start with nothing lost, and its files kept", async (t) => {
  const dir = await tempDir(t);
  await cp(FIXTURE, dir, { recursive: true });
  const expected = JSON.parse(await readFile(join(ROOT, "test", "fixtures", "v1-data.expected.json"), "utf8"));
  expected.jobs = normalise(expected.jobs);

  const logger = memoryLogger();
  const store = await HistoryStore.open(dir, { logger, auxTotalSpecs: specs });
  assert.ok(logger.lines.some((l) => l.includes("store.migrated")), "the migration is logged");
  await store.close();
  const files = await readdir(dir);
  for (const f of ["history.v1.json", "history.v1.jsonl", "history-jobs.1.jsonl", "history-index.1.bin"]) assert.ok(files.includes(f), `${f} in ${files.join(", ")}`);
  assert.equal(await readFile(join(dir, "history.v1.json"), "utf8"), await readFile(join(FIXTURE, "history.json"), "utf8"), "the old document is kept byte for byte");
  const doc = await readFile(join(dir, "history.json"), "utf8");
  assert.match(doc, /^\{"v":2,"crc":"[0-9a-f]{8}",/);

  const got = await answers(dir);
  assert.deepEqual(got, expected);
  assert.equal(got.jobs.length, 30, "29 finished (one of 30 deleted) and the interrupted one");

  // Opening again reads format 2 only, and gives the same (the test job added above aside).
  const again = await answers(dir);
  assert.deepEqual(again.jobs.slice(0, 30), expected.jobs);
  assert.deepEqual(again.totals, expected.totals);
});

test("a migration cut short (document renamed, journal still format 1) completes on the next start", async (t) => {
  const dir = await tempDir(t);
  await cp(FIXTURE, dir, { recursive: true });
  const v1Journal = await readFile(join(FIXTURE, "history.jsonl"), "utf8");
  const store = await HistoryStore.open(dir, { logger: silentLogger, auxTotalSpecs: specs });
  await store.close();
  // As if the power went after the new document's rename, before the journal restarted.
  const { writeFile } = await import("node:fs/promises");
  await writeFile(join(dir, "history.jsonl"), v1Journal);
  const expected = JSON.parse(await readFile(join(ROOT, "test", "fixtures", "v1-data.expected.json"), "utf8"));
  const got = await answers(dir);
  assert.deepEqual(got.jobs, normalise(expected.jobs));
  assert.deepEqual(got.totals, expected.totals, "no record applied twice");
});
