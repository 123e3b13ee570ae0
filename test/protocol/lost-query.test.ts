// The serial link over a real pseudo-terminal pair (socat): once the printer's `busy:` keep-alive
// is known, a query with neither its answer nor a keep-alive for three intervals is given up
// (Marlin's abort clears its queue); the wait lines of M109/M190 (`… W:n`) keep it waiting.

import { test } from "node:test";
import assert from "node:assert/strict";
import { writeSync } from "node:fs";
import { sleep } from "../helpers.js";
import { linkOverPty } from "./pty-link.js";

test("a query lost after the keep-alives stop is given up in a few intervals; heating wait lines keep it", { timeout: 90_000 }, async (t) => {
  const { link, fd } = await linkOverPty(t, 60_000);
  const timed = async (command: string, during: () => Promise<void>): Promise<{ ok: boolean; s: number }> => {
    const at = Date.now();
    const p = link.send(command);
    await during();
    const ok = await p;
    return { ok, s: (Date.now() - at) / 1000 };
  };
  // Keep-alives 1 s apart (M113 S1), then silence: the query was swallowed.
  const lost = await timed("M114", async () => {
    for (let i = 0; i < 3; i++) {
      writeSync(fd, "echo:busy: processing\n");
      await sleep(1000);
    }
  });
  assert.equal(lost.ok, false);
  assert.ok(lost.s < 20, `given up after ${lost.s.toFixed(1)} s, not the 60 s timeout`);
  // An M109 without BUSY_WHILE_HEATING: only its wait lines for 10 s, then the answer.
  const held = await timed("M27", async () => {
    for (let i = 0; i < 10; i++) {
      writeSync(fd, "T:200.00 /210.00 B:60.00 /60.00 @:127 B@:0 W:?\n");
      await sleep(1000);
    }
    writeSync(fd, "SD printing byte 100/1000\nok\n");
  });
  assert.equal(held.ok, true, "the held query was answered, not given up");
});
