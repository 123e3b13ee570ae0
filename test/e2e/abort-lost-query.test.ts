// End to end with the default command timeout (30 s): Marlin's abort clears its command queue,
// so the query printlog had in flight is never answered. With the firmware's keep-alive known,
// printlog gives it up a few keep-alive intervals after the last one, not 30 s later, and the
// stop is recorded at once (serial/link.ts).

import { test } from "node:test";
import assert from "node:assert/strict";
import { sleep } from "../helpers.js";
import { rig } from "./real-marlin-harness.js";
import { CAL, FILES } from "./real-marlin-files.js";

test("plain Marlin 2.1.2.1, 30 s command timeout: an Error: line and a screen cancel -> error, without waiting for the lost query", { timeout: 180_000 }, async (t) => {
  const r = await rig(t, { dialect: "marlin2", files: FILES, printSeconds: 20, heatSeconds: 1.5, abortSeconds: 7 }, [CAL], 30);
  r.vp.startPrint(CAL.sfn);
  const job = await r.waitJob((j) => j.status === "in_progress", "the job to show", 10_000);
  await r.printing(job.job_id, 500);
  r.vp.write("Error:Filament runout detected on E0");
  await sleep(300);
  // Cancel while a query waits in the firmware's queue: the abort swallows it.
  while (r.vp.queuedQueries === 0) await sleep(5);
  const cancelAt = Date.now();
  r.vp.cancel();
  assert.ok(r.vp.dropped.length > 0, "the abort swallowed a query");
  const done = await r.waitJob((j) => j.job_id === job.job_id && j.status !== "in_progress", "the stop", 60_000);
  const took = (Date.now() - cancelAt) / 1000;
  assert.equal(done.status, "error", JSON.stringify(done.printlog.timeline));
  assert.equal(done.printlog.error_message, "Filament runout detected on E0");
  // The abort takes 7 s; the query it swallowed would have held the line until 30 s after it was sent.
  assert.ok(took < 28, `recorded ${took.toFixed(1)} s after the cancel`);
});
