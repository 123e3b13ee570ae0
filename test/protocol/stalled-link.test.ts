// The serial link over a real pseudo-terminal pair (socat) when printlog itself stalls: the
// printer's answer arrives while the process is blocked, and the command's timer, overdue,
// fires before the input is read. The answer must still count.

import { test } from "node:test";
import assert from "node:assert/strict";
import { writeSync } from "node:fs";
import { sleep } from "../helpers.js";
import { linkOverPty } from "./pty-link.js";

/** Blocks this whole process (timers, I/O), as a slow fsync or swapping blocks printlog. */
function stall(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

test("an answer that came while printlog was stalled past the command timeout is read, not timed out", { timeout: 30_000 }, async (t) => {
  const { link, fd } = await linkOverPty(t, 1000);
  const first = link.send("M105");
  writeSync(fd, "ok T:210.00 /210.00 B:60.00 /60.00\n");
  assert.equal(await first, true, "answered normally");
  for (let i = 0; i < 3; i++) {
    const answered = link.send("M105");
    await sleep(50); // the command is out
    writeSync(fd, "ok T:210.00 /210.00 B:60.00 /60.00\n");
    stall(2500); // the answer waits in the terminal; the 1 s timer is overdue when this ends
    assert.equal(await answered, true, `round ${i}: the answer that waited was taken`);
  }
  // A command that really gets no answer still times out.
  const at = Date.now();
  assert.equal(await link.send("M105"), false);
  assert.ok(Date.now() - at < 5000);
});
