// End to end: a `File opened` + `File selected` printlog did not ask for is shown at once as a
// screen start, and dropped when it never prints (a file only selected, e.g. by a host on the
// printer's second port): no rise, no SD report, no keep-alive for 90 s (job/start.ts). A
// selection that does print is dated at its M24, not at the selection.

import { test } from "node:test";
import assert from "node:assert/strict";
import { http, sleep } from "../helpers.js";
import { near, rig } from "./real-marlin-harness.js";
import { CAL, FILES } from "./real-marlin-files.js";

test("plain Marlin 2.1.2.1: a selection that never prints is shown, then dropped from the history", { timeout: 240_000 }, async (t) => {
  const r = await rig(t, { dialect: "marlin2", files: FILES, printSeconds: 6, heatSeconds: 3 }, [CAL]);
  r.vp.selectOnly(CAL.sfn);
  const shown = await r.waitJob((j) => j.status === "in_progress", "the selection to show as a job", 10_000);
  assert.equal(shown.filename, CAL.long);
  const state = async () => (await http(`${r.url()}/printer/objects/query?print_stats`)).body?.result?.status?.print_stats;
  assert.equal((await state()).state, "printing");
  // Still shown well inside the bound: a long heat-up shows nothing else either.
  await sleep(30_000);
  assert.equal((await r.jobs()).length, 1, "kept while it may still start");
  const until = Date.now() + 150_000;
  let jobs = await r.jobs();
  while (jobs.length > 0 && Date.now() < until) {
    await sleep(1000);
    jobs = await r.jobs();
  }
  assert.deepEqual(jobs, [], "dropped: nothing printed");
  const dropped = Date.now() / 1000 - shown.start_time;
  assert.ok(dropped >= 89, `dropped after ${dropped.toFixed(0)} s, not before the bound`);
  assert.notEqual((await state()).state, "printing");
  assert.equal((await http(`${r.url()}/server/history/job?uid=${shown.job_id}`)).status, 404);
  const totals = (await http(`${r.url()}/server/history/totals`)).body.result.job_totals;
  assert.equal(totals.total_jobs, 0, "a dropped selection is not counted");
  // The printer still records the next real print.
  r.vp.startPrint(CAL.sfn);
  const next = await r.waitJob((j) => j.status === "completed", "the next print to be recorded", 60_000);
  assert.equal(next.filename, CAL.long);
});

test("plain Marlin 2.1.2.1: a file selected by another host and printed 20 s later is dated at its M24, with no pause", { timeout: 120_000 }, async (t) => {
  const r = await rig(t, { dialect: "marlin2", files: FILES, printSeconds: 6, heatSeconds: 3 }, [CAL]);
  r.vp.selectOnly(CAL.sfn);
  const shown = await r.waitJob((j) => j.status === "in_progress", "the selection to show as a job", 10_000);
  await sleep(20_000);
  r.vp.printSelected();
  const m24 = r.vp.timing.startedAt;
  const done = await r.waitJob((j) => j.job_id === shown.job_id && j.status !== "in_progress", "the print to finish", 60_000);
  assert.equal(done.status, "completed");
  near(done.start_time, m24, 2.5, "start_time at the M24");
  near(done.total_duration, r.vp.timing.endedAt - m24, 2.5, "total_duration");
  near(done.print_duration, done.total_duration, 0.01, "print_duration: no pause");
  assert.ok(!done.printlog.timeline.some((e: any) => e.event === "paused"), JSON.stringify(done.printlog.timeline));
});
