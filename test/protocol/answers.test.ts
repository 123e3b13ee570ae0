// Which lines answer a query before its `ok` (stray `ok`s from a screen start or abort on the
// real Marlin 2.1.2.1 must not complete a query): each row a real answer line.

import { test } from "node:test";
import assert from "node:assert/strict";
import { answerShape } from "../../src/serial/link.js";

const ROWS: [string, string, boolean][] = [
  ["M78", "Stats: Prints: 10, Finished: 8, Failed: 2", true],
  ["M78", "STATS 1234 min 54321 cm.", true],
  ["M78", "ok", false],
  ["M114", "X:10.00 Y:20.00 Z:0.20 E:4.00 Count X:800 Y:1600 Z:80", true],
  ["M114", "echo:busy: processing", false],
  ["M27", "SD printing byte 5024/18233", true],
  ["M27", "Not SD printing", true],
  ["M27 C", "Current file: LONG.GCO", true],
  ["M27 C", "ok", false],
  ["M115", "FIRMWARE_NAME:Marlin 2.1.2.1 (Nov 24 2026) SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin", true],
  ["M20", "End file list", true],
  ["M20", "CALIBR~1.GCO 12893 calibration_cube_0.2mm_PLA", false],
];

for (const [command, line, answers] of ROWS) {
  test(`${command} is ${answers ? "" : "not "}answered by ${JSON.stringify(line)}`, () => {
    const shape = answerShape(command);
    assert.ok(shape, `${command} has an answer shape`);
    assert.equal(shape.test(line), answers);
  });
}

test("commands with no answer of their own complete at their ok", () => {
  assert.equal(answerShape("M155 S10"), null);
  assert.equal(answerShape("M27 S1"), null);
  assert.equal(answerShape("M31"), null);
});
