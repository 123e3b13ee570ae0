// End to end on the *plain* Marlin 2.1.2.1 (Marlin's defaults plus an SD card): what the real
// firmware did in the second round, each behaviour through the HTTP API (durations within 2 s,
// filament within 2 %).

import { test } from "node:test";
import assert from "node:assert/strict";
import { sleep } from "../helpers.js";
import { near, nearFilament, rig } from "./real-marlin-harness.js";
import { CAL, FILES, HALF, LONG } from "./real-marlin-files.js";

test("plain Marlin 2.1.2.1", { timeout: 300_000 }, async (t) => {
  const r = await rig(t, { dialect: "marlin2", files: FILES, printSeconds: 6, heatSeconds: 3, abortSeconds: 5 }, [CAL]);
  let lastId = "";
  const fresh = (j: any) => j.job_id !== lastId;
  /** Starts `sfn` from the screen and waits for its job to show. */
  const started = async (sfn: string) => {
    r.vp.startPrint(sfn);
    return r.waitJob((j) => fresh(j) && j.status === "in_progress", "the job to start");
  };

  await t.test("screen start is shown at once, named by the local file, dated at the start", async () => {
    r.vp.opts.heatSeconds = 8; // a long heat-up: the job must show before the position rises
    r.vp.startPrint(CAL.sfn);
    r.vp.opts.heatSeconds = 3;
    const job = await r.waitJob((j) => fresh(j) && j.status === "in_progress", "the job to show", 7000);
    assert.ok(Date.now() / 1000 < r.vp.timing.startedAt + 8, "shown before the position rose");
    assert.equal(job.filename, CAL.long, "8.3 alias mapped to the full name in gcode_dir by listing and size");
    near(job.start_time, r.vp.timing.startedAt, 1, "start_time");
    assert.equal(typeof job.metadata.modified, "number", "metadata.modified from gcode_dir");
    const done = await r.waitJob((j) => j.job_id === job.job_id && j.status !== "in_progress", "the job to finish");
    lastId = done.job_id;
    assert.equal(done.status, "completed");
    near(done.total_duration, r.vp.timing.endedAt - r.vp.timing.startedAt, 2, "total_duration");
    nearFilament(done.filament_used, r.vp.extruded, "filament");
  });

  await t.test("pause from the screen prints nothing: inferred from the standing position, dated at the last rise", async () => {
    const job = await started(LONG.sfn);
    await r.printing(job.job_id, 2000);
    r.vp.pause();
    const paused = await r.waitJob((j) => j.job_id === job.job_id && j.printlog.paused === true, "the pause to be inferred", 15_000);
    const ev = paused.printlog.timeline.find((e: any) => e.event === "paused");
    near(ev.time, r.vp.timing.pausedAt, 2, "pause time");
    await sleep(2000);
    r.vp.resume();
    const done = await r.waitJob((j) => j.job_id === job.job_id && j.status !== "in_progress", "the job to finish");
    lastId = done.job_id;
    assert.equal(done.status, "completed");
    const total = r.vp.timing.endedAt - r.vp.timing.startedAt;
    near(done.total_duration, total, 2, "total_duration");
    near(done.print_duration, total - r.vp.timing.pausedSeconds, 2, "print_duration");
    assert.ok(done.printlog.timeline.some((e: any) => e.event === "resumed"));
  });

  await t.test("a long heat-up mid-print (M109: standing position, busy keep-alive) is printing, not a pause", async () => {
    const job = await started(LONG.sfn);
    await r.printing(job.job_id, 2000);
    r.vp.heatMidPrint(9);
    const done = await r.waitJob((j) => j.job_id === job.job_id && j.status !== "in_progress", "the job to finish");
    lastId = done.job_id;
    assert.equal(done.status, "completed");
    assert.ok(!done.printlog.timeline.some((e: any) => e.event === "paused"), JSON.stringify(done.printlog.timeline));
    near(done.print_duration, r.vp.timing.endedAt - r.vp.timing.startedAt, 2, "print_duration");
  });

  await t.test("printlog killed mid-print and restarted: the same job, the whole filament from M114", async () => {
    // A longer print: the restart (a slow start under load) must come back while it still prints.
    r.vp.opts.printSeconds = 20;
    const job = await started(LONG.sfn);
    await r.printing(job.job_id, 2000);
    await r.restart("SIGKILL");
    assert.ok(r.vp.printing, "the print outlasted the restart");
    r.vp.opts.printSeconds = 6;
    const done = await r.waitJob((j) => j.job_id === job.job_id && j.status === "completed", "the adopted job to complete", 60_000);
    lastId = done.job_id;
    assert.ok(done.printlog.timeline.some((e: any) => e.event === "reopened"));
    near(done.total_duration, r.vp.timing.endedAt - r.vp.timing.startedAt, 2, "total_duration");
    nearFilament(done.filament_used, r.vp.extruded, "filament across the restart");
  });

  await t.test("screen cancel: ended at the last rise, not after the abort G-code; stray oks answer nothing", async () => {
    const job = await started(LONG.sfn);
    await r.printing(job.job_id, 2500);
    r.vp.cancel();
    const done = await r.waitJob((j) => j.job_id === job.job_id && j.status !== "in_progress", "the cancel", 40_000);
    lastId = done.job_id;
    assert.equal(done.status, "cancelled", JSON.stringify(done.printlog.timeline));
    near(done.end_time, r.vp.timing.endedAt, 2, "end_time");
    near(done.total_duration, r.vp.timing.endedAt - r.vp.timing.startedAt, 2, "total_duration");
    await sleep(1000);
    nearFilament((await r.job(done.job_id)).filament_used, r.vp.extruded, "filament after a cancel");
    assert.equal(r.vp.overlaps, 0, "printlog never had two commands in flight");
  });

  await t.test("a screen start cancelled at once (no rise, no keep-alive: a short heat-up and abort) is cancelled, not dropped", async () => {
    r.vp.opts.heatSeconds = 1.5; // Marlin's keep-alive comes after 2 s busy: none here
    r.vp.opts.abortSeconds = 1.5;
    r.vp.startPrint(CAL.sfn);
    r.vp.opts.heatSeconds = 3;
    const job = await r.waitJob((j) => fresh(j) && j.status === "in_progress", "the job to show", 7000);
    r.vp.cancel();
    r.vp.opts.abortSeconds = 5;
    const done = await r.waitJob((j) => j.job_id === job.job_id && j.status !== "in_progress", "the cancel", 30_000).catch(async (e) => {
      assert.fail(`${(e as Error).message}\njobs: ${JSON.stringify((await r.jobs()).map((j) => [j.job_id, j.status]))}`);
    });
    lastId = done.job_id;
    assert.equal(done.status, "cancelled", JSON.stringify(done.printlog.timeline));
    near(done.end_time, r.vp.timing.endedAt, 2, "end_time");
  });

  await t.test("M1001 half-way: completed at `Done printing file`, and a standing position never re-opens it", async () => {
    const job = await started(HALF.sfn);
    const done = await r.waitJob((j) => j.job_id === job.job_id && j.status !== "in_progress", "the job to finish");
    lastId = done.job_id;
    assert.equal(done.status, "completed");
    await sleep(6000); // M27 keeps answering the same position
    const after = await r.job(done.job_id);
    assert.equal(after.status, "completed");
    assert.ok(!after.printlog.timeline.some((e: any) => e.event === "reopened"), JSON.stringify(after.printlog.timeline));
    near(after.total_duration, r.vp.timing.endedAt - r.vp.timing.startedAt, 2, "total_duration");
    nearFilament(after.filament_used, r.vp.extruded, "filament");
    assert.equal((await r.jobs())[0].job_id, done.job_id, "no new job");
  });

  await t.test("printlog sent only M-codes", () => {
    assert.deepEqual(r.vp.received.filter((c) => !/^M\d+/.test(c)), []);
  });
});

test("plain Marlin 2.1.2.1: after a halt and reset, printlog identifies the printer at once", { timeout: 120_000 }, async (t) => {
  // The default command timeout (30 s): a query lost in the halt must not hold the handshake.
  const r = await rig(t, { dialect: "marlin2", files: FILES, printSeconds: 6 }, [], 30);
  r.vp.startPrint(LONG.sfn);
  const job = await r.waitJob((j) => j.status === "in_progress", "the job to start");
  await r.printing(job.job_id, 3000); // an M114 or two while extruding
  r.vp.halt();
  const done = await r.waitJob((j) => j.job_id === job.job_id && j.status !== "in_progress", "the halt");
  assert.equal(done.status, "klippy_shutdown");
  assert.ok(done.filament_used > 0, "the last M114 reading, though nothing answers after kill()");
  await sleep(1000);
  const before = r.pl.output().match(/printer\.watching/g)!.length;
  r.vp.reset();
  // Blind until a lost query's 30 s timeout before; now at once (12 s allows for a loaded machine).
  const until = Date.now() + 12_000;
  while (Date.now() < until && r.pl.output().match(/printer\.watching/g)!.length === before) await sleep(200);
  assert.ok(r.pl.output().match(/printer\.watching/g)!.length > before, "identified again within 12 s of the reset");
  assert.doesNotMatch(r.pl.output(), /baud_fallback/);
});
