// The real printlog SIGKILLed 50 times while the virtual printer prints job after job.

import { test } from "node:test";
import assert from "node:assert/strict";
import { printerCrashRounds } from "../../scripts/printer-crash-harness.js";
import { tempDir } from "../helpers.js";

test("50 SIGKILLs of printlog while the printer prints: history opens, finished jobs unaltered, totals match", { timeout: 300_000 }, async (t) => {
  const dir = await tempDir(t);
  const r = await printerCrashRounds(dir, 50, 3);
  assert.equal(r.rounds, 50);
  assert.ok(r.printsStarted >= 10, `prints started: ${r.printsStarted}`);
  assert.ok(r.settled >= 5, `finished jobs checked across later kills: ${r.settled}`);
});
