// The store survives SIGKILL at random points: 100 kills of a real recording process.

import { test } from "node:test";
import assert from "node:assert/strict";
import { crashRounds } from "../../scripts/crash-harness.js";
import { tempDir } from "../helpers.js";

test("100 SIGKILLs at random points: nothing finished is lost or altered, nothing deleted comes back, totals match, interrupted jobs keep checkpoints", { timeout: 240_000 }, async (t) => {
  const dir = await tempDir(t);
  const report = await crashRounds(dir, 100, 7);
  assert.equal(report.rounds, 100);
  assert.ok(report.finishedSeen > 20, `enough finished jobs were exercised (${report.finishedSeen})`);
  assert.ok(report.interrupted > 10, `enough kills landed mid-job (${report.interrupted})`);
  assert.ok(report.deleted > 5, `deletions (and the index folds they cause) were exercised (${report.deleted})`);
});
