// Properties of the job reducer over generated event streams (fast-check): every started job
// gets exactly one terminal status, pure noise never creates a job, and it is deterministic.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { initialRecorderState, reduce } from "../../src/job/reducer.js";
import { parseLine } from "../../src/protocol/parse.js";
import type { Effect, RecorderInput } from "../../src/job/types.js";
import { CAPTURES } from "../protocol/captures.js";

/** Lines a printer really prints, the vocabulary the streams are drawn from. */
const VOCABULARY = [
  "File opened: BOX1.GCO Size: 193158",
  "File opened:box1.gco Size:193158",
  "File selected",
  "echo:Now fresh file: box1.gco",
  'echo:enqueing "M24"',
  'echo:enqueueing "M25"',
  "SD printing byte 1000/193158",
  "SD printing byte 50000/193158",
  "SD printing byte 193158/193158",
  "SD printing byte 100/5000",
  "Not SD printing",
  "Done printing file",
  "//action:pause",
  "//action:paused",
  "//action:resume",
  "//action:resumed",
  "//action:cancel",
  "// action:pause",
  "SD print paused",
  "Current file: BOX1.GCO box one.gcode",
  "Current file: (no file)",
  "Error:Printer halted. kill() called!",
  "Error:Thermal Runaway, system stopped! Heater_ID: E0",
  "Error:checksum mismatch, Last Line: 3",
  "Error:something odd",
  "start",
  "ok",
  "echo:busy: processing",
  "X:0.00 Y:0.00 Z:0.20 E:12.50 Count X:0 Y:0 Z:80",
  "Stats: Prints: 5, Finished: 4, Failed: 1",
  "Stats: Prints: 6, Finished: 4, Failed: 2",
  "Stats: Filament used: 12.34m",
  "Finished printing file 0:/gcodes/x.gcode, print time was 0h 1m",
  "Cancelled printing file 0:/gcodes/x.gcode, print time was 0h 1m",
  "FIRMWARE_NAME:Marlin 2.1.2 (x) SOURCE_CODE_URL:y",
  "FIRMWARE_NAME:Prusa-Firmware-Buddy 6.3.4 (Github)",
  "FIRMWARE_NAME: RepRapFirmware for Duet 3 FIRMWARE_VERSION: 3.5",
  "FIRMWARE_NAME:Prusa-Firmware 3.13.3 based on Marlin",
];

type Step = { kind: "line"; line: string; dt: number } | { kind: "tick"; dt: number } | { kind: "lost"; dt: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant("line" as const), line: fc.constantFrom(...VOCABULARY), dt: fc.double({ min: 0, max: 8, noNaN: true }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("tick" as const), dt: fc.double({ min: 0, max: 10, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("lost" as const), dt: fc.double({ min: 0, max: 2, noNaN: true }) }) },
);

function run(steps: Step[]): Effect[] {
  const state = initialRecorderState();
  const effects: Effect[] = [];
  let t = 1_700_000_000;
  for (const s of steps) {
    t += s.dt;
    const input: RecorderInput =
      s.kind === "line" ? parseLine(s.line, { dialect: state.dialect, inFileList: state.inFileList }) : s.kind === "tick" ? { type: "tick" } : { type: "link_lost", reason: "test" };
    effects.push(...reduce(state, input, t).effects);
  }
  return effects;
}

test("every started job gets exactly one terminal status, and a finish never comes without an open job", () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
      let open = false;
      for (const e of run(steps)) {
        if (e.kind === "start" || e.kind === "reopen") {
          assert.equal(open, false, "a job starts while another is open (it must be finished first)");
          open = true;
        } else if (e.kind === "finish" || e.kind === "drop") {
          // A job shown at a screen start that never printed is dropped instead of finished.
          assert.equal(open, true, `a ${e.kind} without an open job`);
          open = false;
        } else if (e.kind === "pause" || e.kind === "resume") {
          assert.equal(open, true, `${e.kind} without an open job`);
        }
      }
    }),
    { numRuns: 800 },
  );
});

test("durations are never negative and print time never exceeds total time", () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
      for (const e of run(steps)) {
        if (e.kind === "finish" || e.kind === "pause" || e.kind === "resume") {
          assert.ok(e.fields.total_duration >= 0 && e.fields.print_duration >= 0);
          assert.ok(e.fields.print_duration <= e.fields.total_duration + 1e-9);
        }
      }
    }),
    { numRuns: 500 },
  );
});

test("pure noise creates no job: random text and random bytes", () => {
  const noise = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString("latin1")),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString("utf8")),
  );
  fc.assert(
    fc.property(fc.array(noise, { maxLength: 200 }), (lines) => {
      const effects = run(lines.map((line) => ({ kind: "line" as const, line, dt: 1 })));
      assert.deepEqual(effects.filter((e) => e.kind === "start" || e.kind === "reopen"), []);
    }),
    { numRuns: 300 },
  );
});

test("mutated real captures never throw", () => {
  const all = CAPTURES.flatMap((c) => c.lines);
  const mutated = fc.tuple(fc.constantFrom(...all), fc.nat({ max: 200 }), fc.string({ maxLength: 8 })).map(([l, i, s]) => l.slice(0, i) + s + l.slice(i + s.length));
  fc.assert(
    fc.property(fc.array(mutated, { maxLength: 150 }), (lines) => {
      run(lines.map((line) => ({ kind: "line" as const, line, dt: 0.5 })));
    }),
    { numRuns: 300 },
  );
});

test("the reducer is deterministic: the same stream gives the same effects", () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
      assert.deepEqual(run(steps), run(steps));
    }),
    { numRuns: 200 },
  );
});
