// A farm of 10 printlog processes, each with its own virtual printer, on one real Mosquitto: one
// subscriber receives every job of every printer exactly once, with the right status.

import assert from "node:assert/strict";
import { test } from "node:test";
import { runFarm } from "../../scripts/farm.js";

test("10 printers, one broker: every job exactly once with the right status", { timeout: 240_000 }, async () => {
  const r = await runFarm({ printers: 10, jobsPerPrinter: 2, printSeconds: 2 });
  assert.deepEqual(r.problems, []);
  assert.equal(r.jobs.length, 20);
  assert.equal(r.received.length, 20);
  assert.equal(new Set(r.jobs.map((j) => j.instance)).size, 10);
  assert.deepEqual(new Set(r.received.map((j) => j.status)), new Set(["completed", "cancelled"]));
});
