// The serial link over a real pseudo-terminal pair (socat): a line longer than the cap is cut,
// and a piece of it that reads `ok …` (a file name in RRF's one-line JSON listing) does not
// complete the query, so a second command never goes out while the first is unanswered.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readSync, writeSync } from "node:fs";
import { MAX_LINE_LENGTH } from "../../src/protocol/events.js";
import { sleep } from "../helpers.js";
import { linkOverPty } from "./pty-link.js";

test("a cut line's piece reading `ok …` is not the query's ok (RRF M20 S3)", { timeout: 60_000 }, async (t) => {
  const { link, fd } = await linkOverPty(t, 20_000);
  const lines: string[] = [];
  link.on("line", (l) => lines.push(l));

  let done = false;
  const first = link.send("M20 S3").then((ok) => {
    done = true;
    return ok;
  });
  void link.send("M27");
  // Read what the host wrote: only the first command may be on the wire.
  const readHost = async (): Promise<string> => {
    let got = "";
    const buf = Buffer.alloc(256);
    for (let i = 0; i < 40; i++) {
      try {
        const n = readSync(fd, buf, 0, buf.length, null);
        got += buf.subarray(0, n).toString();
      } catch {
        // EAGAIN: nothing yet
      }
      if (got.includes("\n")) break;
      await sleep(50);
    }
    return got;
  };
  assert.equal(await readHost(), "M20 S3\n");
  // A listing whose byte MAX_LINE_LENGTH begins `ok file.gcode`: the cap cuts it right there.
  const head = '{"dir":"0:/gcodes/","first":0,"files":[{"type":"f","name":"';
  const pad = "x".repeat(MAX_LINE_LENGTH - head.length);
  const json = `${head}${pad}ok file.gcode","size":1}],"next":0}`;
  writeSync(fd, json + "\n");
  await sleep(1500);
  assert.ok(lines.some((l) => l.startsWith("ok file.gcode")), `the piece arrived: ${JSON.stringify(lines.map((l) => l.slice(0, 20)))}`);
  assert.equal(done, false, "the piece did not complete M20 S3");
  assert.equal(link.busy, true);
  writeSync(fd, "\nok\n");
  assert.equal(await first, true);
  assert.equal(await readHost(), "M27\n", "the next command goes out after the real ok");
});
