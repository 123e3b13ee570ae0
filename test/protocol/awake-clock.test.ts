// The clock the link's liveness is timed on: a stall of printlog counts as one step, so the
// tick that ends it does not take the printer for silent.

import assert from "node:assert/strict";
import { test } from "node:test";
import { AwakeClock, SilenceWatch } from "../../src/serial/awake-clock.js";

test("the awake clock follows the wall clock in steps of at most maxStep", () => {
  const c = new AwakeClock(2);
  assert.equal(c.advance(1000), 0);
  assert.equal(c.advance(1001), 1);
  assert.equal(c.advance(1002.5), 2.5);
  assert.equal(c.advance(1030), 4.5, "a 27.5 s stall counts as 2 s");
  assert.equal(c.gap, 27.5);
  assert.equal(c.advance(1029), 4.5, "the wall clock stepping back adds nothing");
  assert.equal(c.now, 4.5);
});

test("silence counts only while a command waits, from the last line, and restarts on reset", () => {
  const w = new SilenceWatch();
  assert.equal(w.silentFor(0, true, 5), 0, "no line yet: the handshake's business");
  assert.equal(w.silentFor(100, true, 6), 0);
  assert.equal(w.silentFor(100, true, 9), 3);
  assert.equal(w.silentFor(100, false, 20), 0, "nothing waits: no silence");
  assert.equal(w.silentFor(100, true, 21), 15, "the last line is still the one at 100");
  assert.equal(w.silentFor(101, true, 22), 0, "a new line");
  w.reset(30);
  assert.equal(w.silentFor(101, true, 31), 1);
});
