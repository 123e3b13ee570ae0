// End to end on the *rich* Marlin 2.1.2.1 (HOST_ACTION_COMMANDS, PRINTCOUNTER, AUTO_REPORT_SD_STATUS,
// LONG_FILENAME_HOST_SUPPORT, M73): what the real firmware did in the second round, each behaviour
// through the HTTP API and the WebSocket notifications.

import { test } from "node:test";
import assert from "node:assert/strict";
import { RpcClient, sleep } from "../helpers.js";
import { near, nearFilament, rig } from "./real-marlin-harness.js";
import { CAL, FILES, LONG } from "./real-marlin-files.js";

test("rich Marlin 2.1.2.1", { timeout: 300_000 }, async (t) => {
  const r = await rig(t, { dialect: "marlin2_host", files: FILES, printSeconds: 6, printcounter: true, abortSeconds: 4 }, [CAL]);
  let lastId = "";
  const fresh = (j: any) => j.job_id !== lastId;

  await t.test("completed: 'finished' is notified once with the final filament; the 26-character name mapped", async () => {
    const ws = await RpcClient.connect(r.url());
    t.after(() => ws.close());
    r.vp.startPrint(CAL.sfn);
    const job = await r.waitJob((j) => fresh(j) && j.status === "in_progress", "the job to start");
    assert.equal(job.filename, CAL.long, "M20 L's 26 characters mapped to the full name in gcode_dir");
    const done = await r.waitJob((j) => j.job_id === job.job_id && j.status !== "in_progress", "the job to finish");
    lastId = done.job_id;
    assert.equal(done.status, "completed");
    const note = await ws.waitFor((m) => m.method === "notify_history_changed" && m.params?.[0]?.action === "finished" && m.params[0].job.job_id === done.job_id);
    nearFilament(note.params[0].job.filament_used, r.vp.extruded, "filament in the 'finished' notification");
    near(done.total_duration, r.vp.timing.endedAt - r.vp.timing.startedAt, 2, "total_duration");
  });

  await t.test("an Error: line and then the stop -> error (not cancelled by the Failed counter), its text once", async () => {
    r.vp.startPrint(LONG.sfn);
    const job = await r.waitJob((j) => fresh(j) && j.status === "in_progress", "the job to start");
    await r.printing(job.job_id);
    r.vp.errorStop("Probing Failed");
    const done = await r.waitJob((j) => j.job_id === job.job_id && j.status !== "in_progress", "the stop", 40_000);
    lastId = done.job_id;
    assert.equal(done.status, "error", JSON.stringify(done.printlog.timeline));
    assert.equal(done.printlog.error_message, "Probing Failed");
    near(done.end_time, r.vp.timing.endedAt, 2, "end_time");
  });

  await t.test("screen cancel: the abort clears the queue, filament still measured", async () => {
    await sleep(3000); // the abort G-code of the stop before
    r.vp.startPrint(LONG.sfn);
    const job = await r.waitJob((j) => fresh(j) && j.status === "in_progress", "the job to start");
    // Queries now wait behind the moves until the abort, which clears them from the queue:
    // never answered, no `ok` (second round).
    await r.printing(job.job_id, 0);
    r.vp.opts.queueDelayMs = 60_000;
    await sleep(3000);
    r.vp.cancel();
    r.vp.opts.queueDelayMs = 150;
    assert.ok(r.vp.dropped.length > 0, "a query was lost in the abort");
    const done = await r.waitJob((j) => j.job_id === job.job_id && j.status !== "in_progress", "the cancel");
    lastId = done.job_id;
    assert.equal(done.status, "cancelled");
    near(done.total_duration, r.vp.timing.endedAt - r.vp.timing.startedAt, 2, "total_duration");
    await sleep(12_000); // the abort G-code, the lost query's timeout, then the answers held
    const after = await r.job(done.job_id);
    assert.ok(after.filament_used > 0, "never 0 for a print that extruded");
    nearFilament(after.filament_used, r.vp.extruded, "filament after a screen cancel");
    // (checked before the tests that kill printlog: a killed process leaves its query behind)
    assert.equal(r.vp.overlaps, 0, "never two commands in flight, whatever the stray oks");
  });

  await t.test("printlog killed mid-print and restarted: the same job, the whole filament", async () => {
    r.vp.startPrint(LONG.sfn);
    const job = await r.waitJob((j) => fresh(j) && j.status === "in_progress", "the job to start");
    await r.printing(job.job_id);
    await r.restart("SIGKILL");
    const done = await r.waitJob((j) => j.job_id === job.job_id && j.status === "completed", "the adopted job to complete", 40_000);
    lastId = done.job_id;
    assert.ok(done.printlog.timeline.some((e: any) => e.event === "reopened"));
    await sleep(1000);
    nearFilament((await r.job(done.job_id)).filament_used, r.vp.extruded, "filament across the restart");
  });

  await t.test("cut off near the start, then the same file printed again: a new job, not the old one re-opened", async () => {
    r.vp.startPrint(LONG.sfn);
    const job = await r.waitJob((j) => fresh(j) && j.status === "in_progress", "the job to start");
    await sleep(1500);
    await r.pl.stop("SIGTERM");
    r.vp.cancel();
    await sleep(5000);
    await r.restart("SIGTERM");
    r.vp.startPrint(LONG.sfn);
    const next = await r.waitJob((j) => j.job_id !== job.job_id && j.status === "in_progress", "a new job");
    near(next.start_time, r.vp.timing.startedAt, 2, "the new job's start");
    const old = await r.job(job.job_id);
    assert.equal(old.status, "server_exit");
    assert.ok(!old.printlog.timeline.some((e: any) => e.event === "reopened"));
    const done = await r.waitJob((j) => j.job_id === next.job_id && j.status !== "in_progress", "the new job to finish");
    near(done.total_duration, r.vp.timing.endedAt - r.vp.timing.startedAt, 2, "total_duration");
  });
});
