import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HistoryStore, cleanMetadata } from "../../src/history/store.js";
import { memoryLogger, silentLogger } from "../../src/log.js";
import { tempDir } from "../helpers.js";

const open = (dir: string, extra = {}) => HistoryStore.open(dir, { logger: silentLogger, ...extra });

test("job ids are uppercase hex, 6 digits, starting at 000001", async (t) => {
  const store = await open(await tempDir(t));
  const ids: string[] = [];
  for (let i = 0; i < 11; i++) {
    const j = await store.startJob({ filename: `f${i}.gcode`, start_time: i });
    ids.push(j.job_id);
  }
  assert.deepEqual(ids.slice(0, 2), ["000001", "000002"]);
  assert.equal(ids[9], "00000A");
  assert.equal(ids[10], "00000B");
  await store.close();
});

test("ids are never reused: not after deleting the newest, not after delete-all, not after a restart", async (t) => {
  const dir = await tempDir(t);
  let store = await open(dir);
  const a = await store.startJob({ filename: "a.gcode", start_time: 1 });
  await store.finishJob(a.job_id, "completed", 2, {}, "done");
  const b = await store.startJob({ filename: "b.gcode", start_time: 3 });
  await store.finishJob(b.job_id, "completed", 4, {}, "done");
  assert.equal(await store.deleteJob(b.job_id), true);
  const c = await store.startJob({ filename: "c.gcode", start_time: 5 });
  assert.equal(c.job_id, "000003", "deleting the newest does not hand its id out again");
  await store.finishJob(c.job_id, "completed", 6, {}, "done");
  assert.deepEqual(await store.deleteAll(), ["000001", "000003"]);
  await store.close();

  store = await open(dir);
  const d = await store.startJob({ filename: "d.gcode", start_time: 7 });
  assert.equal(d.job_id, "000004", "delete-all plus restart does not reuse ids");
  await store.close();

  // Also when the deletions were compacted into the snapshot.
  store = await open(dir);
  await store.durable.compactNow();
  await store.deleteAll();
  await store.durable.compactNow();
  await store.close();
  store = await open(dir);
  assert.equal((await store.startJob({ filename: "e.gcode", start_time: 9 })).job_id, "000005");
  await store.close();
});

test("a job left in_progress becomes interrupted at start-up with its checkpointed values, totals untouched", async (t) => {
  const dir = await tempDir(t);
  const store = await open(dir, { checkpointInterval: 30 });
  const job = await store.startJob({ filename: "long.gcode", start_time: 1000 });
  await store.updateJob(job.job_id, 1010, { print_duration: 10, total_duration: 10, filament_used: 5 }); // < 30 s: memory only
  await store.updateJob(job.job_id, 1040, { print_duration: 40, total_duration: 40, filament_used: 20, progress: 0.4 });
  await store.updateJob(job.job_id, 1050, { print_duration: 50, total_duration: 50, filament_used: 25 }); // memory only
  // Simulate power loss: no close(), no finish. Reopen from disk.
  const reopened = await open(dir);
  const got = reopened.getJob(job.job_id)!;
  assert.equal(got.status, "interrupted");
  assert.equal(got.end_time, null);
  assert.equal(got.print_duration, 40);
  assert.equal(got.filament_used, 20);
  assert.equal(got.progress, 0.4);
  assert.equal(reopened.totals().job_totals.total_jobs, 0);
  await reopened.close();
  await store.close();
});

test("totals follow Moonraker: every finished status counts, interrupted never does, deletes do not change them", async (t) => {
  const store = await open(await tempDir(t));
  const runs: [number, number, number][] = [
    [100, 90, 1000],
    [300, 200, 50],
    [50, 50, 10],
  ];
  const statuses = ["completed", "cancelled", "klippy_shutdown"] as const;
  for (const [i, [total, print, fil]] of runs.entries()) {
    const j = await store.startJob({ filename: `f${i}.gcode`, start_time: i * 1000 });
    await store.finishJob(j.job_id, statuses[i]!, i * 1000 + total, { total_duration: total, print_duration: print, filament_used: fil }, "t");
  }
  const totals = store.totals().job_totals;
  assert.deepEqual(totals, {
    total_jobs: 3,
    total_time: 450,
    total_print_time: 340,
    total_filament_used: 1060,
    longest_job: 300,
    longest_print: 200,
  });
  await store.deleteAll();
  assert.deepEqual(store.totals().job_totals, totals);
  const reset = await store.resetTotals();
  assert.deepEqual(reset.last_totals, totals);
  assert.equal(store.totals().job_totals.total_jobs, 0);
  await store.close();
});

test("a new start while a job is open closes the old one as cancelled", async (t) => {
  const store = await open(await tempDir(t));
  const a = await store.startJob({ filename: "a.gcode", start_time: 1 });
  const b = await store.startJob({ filename: "b.gcode", start_time: 5 });
  assert.equal(store.getJob(a.job_id)?.status, "cancelled");
  assert.equal(store.getJob(a.job_id)?.end_time, 5);
  assert.equal(store.currentJob()?.job_id, b.job_id);
  await store.close();
});

test("metadata is stored without job_id, print_start_time and thumbnail data", () => {
  const cleaned = cleanMetadata({
    size: 123,
    modified: 17.5,
    job_id: "000001",
    print_start_time: 99,
    thumbnails: [{ width: 32, height: 32, data: "AAAA", relative_path: ".thumbs/a.png" }],
  });
  assert.deepEqual(cleaned, { size: 123, modified: 17.5, thumbnails: [{ width: 32, height: 32, relative_path: ".thumbs/a.png" }] });
  assert.deepEqual(cleanMetadata(undefined), {});
});

test("compaction folds the journal into the snapshot and replay gives the same history", async (t) => {
  const dir = await tempDir(t);
  const store = await open(dir, { minCompactBytes: 2000 });
  for (let i = 0; i < 40; i++) {
    const j = await store.startJob({ filename: `f${i}.gcode`, start_time: i * 10, metadata: { size: i } });
    await store.finishJob(j.job_id, "completed", i * 10 + 5, { total_duration: 5, print_duration: 4, filament_used: 1 }, "d");
  }
  const before = JSON.stringify({ jobs: store.jobs, totals: store.totals() });
  await store.close();
  const snap = JSON.parse(await readFile(join(dir, "history.json"), "utf8"));
  assert.ok(snap.seq > 0, "a snapshot was written");
  const journalLines = (await readFile(join(dir, "history.jsonl"), "utf8")).split("\n").filter(Boolean).length;
  assert.ok(journalLines < 80, `the journal was truncated (${journalLines} of 80 records left)`);
  const again = await open(dir);
  assert.equal(JSON.stringify({ jobs: again.jobs, totals: again.totals() }), before);
  await again.close();
});

test("a crash between snapshot rename and journal truncation replays nothing twice", async (t) => {
  const dir = await tempDir(t);
  const store = await open(dir);
  for (let i = 0; i < 5; i++) {
    const j = await store.startJob({ filename: `f${i}.gcode`, start_time: i });
    await store.finishJob(j.job_id, "completed", i + 1, { total_duration: 1 }, "d");
  }
  const journal = await readFile(join(dir, "history.jsonl"), "utf8");
  await store.durable.compactNow(); // snapshot now holds everything, journal truncated
  await store.close();
  await writeFile(join(dir, "history.jsonl"), journal); // as if truncation never happened
  await writeFile(join(dir, "history.json.tmp"), "{half a snapsh"); // and a torn temp file
  const again = await open(dir);
  assert.equal(again.jobs.length, 5);
  assert.equal(again.totals().job_totals.total_jobs, 5, "finishes were not counted twice");
  await again.close();
});

test("bytes written per finished job stay bounded as history grows (geometric compaction)", async (t) => {
  const dir = await tempDir(t);
  const store = await open(dir, { minCompactBytes: 16 * 1024 });
  const meta = { size: 1234567, modified: 1700000000, slicer: "PrusaSlicer", estimated_time: 3600, filament_total: 5000, layer_height: 0.2 };
  const perJob: number[] = [];
  for (let round = 0; round < 4; round++) {
    const start = store.durable.bytesWritten;
    for (let i = 0; i < 250; i++) {
      const j = await store.startJob({ filename: `r${round}/f${i}.gcode`, start_time: round * 1e6 + i, metadata: meta });
      await store.finishJob(j.job_id, "completed", round * 1e6 + i + 1, { total_duration: 1 }, "d");
    }
    perJob.push((store.durable.bytesWritten - start) / 250);
  }
  await store.close();
  // With 1000 jobs the last round must cost no more per job than about the first round: the
  // cost does not grow with the history (a rewrite-everything store would grow linearly).
  assert.ok(perJob[3]! < perJob[0]! * 2.5, `bytes/job grew: ${perJob.map((n) => n.toFixed(0)).join(", ")}`);
  assert.ok(perJob[3]! < 8192, `bytes per job ${perJob[3]}`);
});

