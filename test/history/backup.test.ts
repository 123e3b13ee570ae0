// Backups taken while the history is being written and compacted (and its job files rewritten
// into new generations): every copy is a consistent history holding at least every job that
// was finished before the copy began — the failure this replaces lost most of a history
// silently when a plain copy crossed a compaction.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { backupDataDir } from "../../src/history/backup.js";
import { HistoryStore } from "../../src/history/store.js";
import { silentLogger } from "../../src/log.js";
import { tempDir } from "../helpers.js";

test("backups across compactions and generation rewrites are consistent and complete", { timeout: 120_000 }, async (t) => {
  const dir = await tempDir(t);
  const data = join(dir, "data");
  const store = await HistoryStore.open(data, { logger: silentLogger, minCompactBytes: 6000 });
  let finished = 0;
  let writing = true;
  const deleted: string[] = []; // in order
  const writer = (async () => {
    let i = 0;
    while (writing) {
      const j = await store.startJob({ filename: `f${i}.gcode`, start_time: i, metadata: { pad: "m".repeat(400), i } });
      await store.updateJob(j.job_id, i + 0.5, { print_duration: 1 }, undefined, true);
      await store.finishJob(j.job_id, "completed", i + 1, { total_duration: 1, filament_used: 1 }, "done");
      finished += 1;
      // Now and then delete everything, so the next compaction writes a new generation of the
      // job files and removes the old one, and sometimes a few jobs.
      if (i % 50 === 49) deleted.push(...(await store.deleteAll()));
      else if (i % 7 === 3) {
        await store.deleteJob(j.job_id);
        deleted.push(j.job_id);
      }
      i += 1;
    }
  })();
  let copies = 0;
  for (let b = 0; b < 40; b++) {
    const before = finished;
    const liveBefore = [...store.jobs].filter((j) => j.status === "completed").map((j) => j.job_id);
    const deletedAt = deleted.length;
    const dest = join(dir, `b${b}`);
    await backupDataDir(data, dest);
    const deletedMeanwhile = new Set(deleted.slice(deletedAt));
    const copy = await HistoryStore.open(dest, { logger: silentLogger, readOnly: true });
    const ids = new Set([...copy.jobs].map((j) => j.job_id));
    const totals = copy.totals().job_totals.total_jobs;
    assert.ok(totals >= before, `copy ${b}: ${totals} finished jobs in the totals, ${before} were finished before it began`);
    const missing = liveBefore.filter((id) => !ids.has(id) && !deletedMeanwhile.has(id));
    assert.deepEqual(missing, [], `copy ${b}: jobs finished before the copy began are missing from it`);
    await copy.close();
    copies += 1;
    await new Promise((r) => setTimeout(r, 20));
  }
  const { readdir } = await import("node:fs/promises");
  const generations = (await readdir(data)).filter((f) => /^history-jobs\.\d+\.jsonl$/.test(f));
  assert.ok(generations.some((f) => f !== "history-jobs.1.jsonl"), `new generations were written: ${generations.join(", ")}`);
  writing = false;
  await writer;
  await store.close();
  assert.equal(copies, 40);
  assert.ok(finished > 100, `${finished} jobs written during the backups`);
});

test("read-only opens (list, totals, export) beside a writer that keeps compacting see a whole history", { timeout: 120_000 }, async (t) => {
  const dir = await tempDir(t);
  const store = await HistoryStore.open(dir, { logger: silentLogger, minCompactBytes: 4000 });
  let finished = 0;
  let writing = true;
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      const j = await store.startJob({ filename: `f${i}.gcode`, start_time: i, metadata: { pad: "r".repeat(300) } });
      await store.finishJob(j.job_id, "completed", i + 1, { total_duration: 1 }, "done");
      finished += 1;
      if (i % 40 === 39) await store.deleteAll(); // new generations, old files removed
    }
  })();
  for (let k = 0; k < 60; k++) {
    const before = finished;
    const ro = await HistoryStore.open(dir, { logger: silentLogger, readOnly: true });
    assert.ok(ro.totals().job_totals.total_jobs >= before, `open ${k}: totals ${ro.totals().job_totals.total_jobs} < ${before}`);
    // Every body readable and checksummed; the job being recorded shows as in_progress.
    for (let p = 0; p < ro.count; p++) assert.ok(["completed", "in_progress"].includes(ro.jobAt(p)!.status));
    await ro.close();
    await new Promise((r) => setTimeout(r, 5));
  }
  writing = false;
  await writer;
  await store.close();
});
