// The job reducer on event sequences the real Marlin 2.1.2.1 produced (serial-protocol.md,
// "Second round"): rules that are hard to reach end to end, each as a table of timed events.

import { test } from "node:test";
import assert from "node:assert/strict";
import { initialRecorderState, reduce } from "../../src/job/reducer.js";
import type { Effect, RecorderInput, RecorderState } from "../../src/job/types.js";
import { parseLine } from "../../src/protocol/parse.js";

type Step = [at: number, input: string | RecorderInput];

function run(steps: Step[], s: RecorderState = initialRecorderState()): { s: RecorderState; effects: Effect[] } {
  s.dialect = s.dialect === "unknown" ? "marlin2" : s.dialect;
  const effects: Effect[] = [];
  for (const [at, input] of steps) {
    const ev = typeof input === "string" ? parseLine(input, { dialect: s.dialect, inFileList: s.inFileList }) : input;
    effects.push(...reduce(s, ev, at).effects);
  }
  return { s, effects };
}

const tick: RecorderInput = { type: "tick" };
/** A screen start printing 1000 bytes/s of a 100,000-byte file for `seconds` s, then the
 *  position standing for 10 s with nothing announced (a pause from the screen). */
function printedThenStood(seconds: number): Step[] {
  const steps: Step[] = [
    [0, "File opened: long.gco Size: 100000"],
    [0.1, "File selected"],
  ];
  for (let t = 1; t <= seconds; t++) steps.push([t, `SD printing byte ${t * 1000}/100000`], [t + 0.2, tick]);
  for (let t = seconds + 1; t <= seconds + 10; t++) steps.push([t, `SD printing byte ${seconds * 1000}/100000`], [t + 0.2, tick]);
  return steps;
}

const finishOf = (effects: Effect[]) => effects.find((e): e is Extract<Effect, { kind: "finish" }> => e.kind === "finish");

test("a heat-up (busy keep-alive) with the position standing is not a pause; the same standing without keep-alive is", () => {
  const steps: Step[] = [
    [0, "File opened: long.gco Size: 100000"],
    [0.1, "File selected"],
    [2, "SD printing byte 1000/100000"],
    [3, "SD printing byte 2000/100000"],
  ];
  // M109 mid-print: the position stands 10 s, `busy: processing` every 2 s.
  for (let t = 4; t <= 14; t++) {
    steps.push([t, "SD printing byte 2000/100000"]);
    if (t % 2 === 0) steps.push([t + 0.1, "echo:busy: processing"]);
    steps.push([t + 0.2, tick]);
  }
  const heat = run(steps);
  assert.equal(heat.s.job?.paused, false, "a heat-up is printing");
  // Then the queue empties: no keep-alive, the position stands -> a pause dated at the last sign.
  const more: Step[] = [];
  for (let t = 15; t <= 22; t++) more.push([t, "SD printing byte 2000/100000"], [t + 0.2, tick]);
  const { effects, s } = run(more, heat.s);
  assert.equal(s.job?.paused, true);
  const p = effects.find((e) => e.kind === "pause");
  assert.ok(p && p.time >= 14 && p.time <= 15, `paused at ${p?.time}`);
});

test("a screen start that never prints (no rise, no SD report, no keep-alive) is dropped, not recorded", () => {
  const { effects, s } = run([
    [0, "File opened: x.gco Size: 5000"],
    [0.1, "File selected"],
    ...Array.from({ length: 100 }, (_, i): Step => [1 + i, tick]),
  ]);
  assert.ok(effects.some((e) => e.kind === "start"));
  assert.ok(effects.some((e) => e.kind === "drop"));
  assert.equal(s.job, null);
});

test("PRINTCOUNTER: the M78 lost in the abort's cleared queue -> filament from M114, never 0", () => {
  const { effects } = run([
    [0, "File opened: a.gco Size: 10000"],
    [0.1, "File selected"],
    [1, "X:0.00 Y:0.00 Z:0.20 E:500.00 Count X:0 Y:0 Z:0"], // what the last print left: the baseline
    [2, "Stats: Filament used: 100.00m"],
    [3, "SD printing byte 1000/10000"],
    [4, "X:1.00 Y:0.00 Z:0.20 E:40.00 Count X:0 Y:0 Z:0"], // G92 E0 ran; 40 mm since
    [5, "SD printing byte 2000/10000"],
    [6, "X:2.00 Y:0.00 Z:0.20 E:90.00 Count X:0 Y:0 Z:0"],
    [7, "//action:cancel"],
  ]);
  const f = finishOf(effects)!;
  assert.equal(f.status, "cancelled");
  assert.equal(f.fields.filament_source, "m114");
  assert.ok(Math.abs(f.fields.filament_used - 90) < 1e-9, `${f.fields.filament_used}`);
});

test("PRINTCOUNTER: Finished +1 after `Not SD printing` short of the end is a cancel (a screen abort counts as Finished)", () => {
  const { effects } = run([
    [0, "File opened: a.gco Size: 10000"],
    [0.1, "File selected"],
    [1, "Stats: Prints: 5, Finished: 3, Failed: 1"],
    [2, "SD printing byte 1000/10000"],
    [3, "SD printing byte 2000/10000"],
    [10, "Not SD printing"],
    [11, "Stats: Prints: 5, Finished: 4, Failed: 1"],
  ]);
  const f = finishOf(effects)!;
  assert.equal(f.status, "cancelled");
  assert.equal(f.time, 3, "dated at the last rise");
});

test("after `Done printing file` a standing position keeps the job finished; a rise re-opens it", () => {
  const base: Step[] = [
    [0, "File opened: a.gco Size: 10000"],
    [0.1, "File selected"],
    [2, "SD printing byte 4000/10000"],
    [3, "SD printing byte 5000/10000"],
    [4, "Done printing file"],
    [5, "SD printing byte 5100/10000"],
    [6, "SD printing byte 5100/10000"],
    [60, "SD printing byte 5100/10000"],
  ];
  const standing = run(base);
  assert.equal(standing.s.job, null);
  assert.ok(!standing.effects.some((e) => e.kind === "reopen"));
  const rising = run([[61, "SD printing byte 6000/10000"]], standing.s);
  assert.ok(rising.effects.some((e) => e.kind === "reopen"));
});

test("a position behind the last known one after a restart is a new print, not the old job", () => {
  const s = initialRecorderState();
  s.dialect = "marlin2";
  s.lastClosed = {
    jobId: "000001", filename: "a.gco", sfn: "A.GCO", size: 10000, pos: 3000, endedAt: 100, status: "server_exit",
    reopenUntil: 1e12, posAfter: null, byStrikes: false, closingUntil: 0, startedAt: 50, pausedTotal: 0, prusaStatsStart: null,
    filament: { source: null, used: 0, eUsed: 0, eLast: null, eSeen: false, m78Start: null, m78Used: null, adoptedUsed: null },
  };
  const { effects } = run([[126, "SD printing byte 500/10000"], [127, "SD printing byte 900/10000"]], s);
  assert.ok(!effects.some((e) => e.kind === "reopen"));
  assert.ok(effects.some((e) => e.kind === "start"));
});

test("a restarted printlog continues the filament from the M78 baseline noted with the job", () => {
  const s = initialRecorderState();
  s.dialect = "marlin2";
  s.lastClosed = {
    jobId: "000001", filename: "a.gco", sfn: "A.GCO", size: 10000, pos: 3000, endedAt: 100, status: "interrupted",
    reopenUntil: 1e12, posAfter: null, byStrikes: false, closingUntil: 0, startedAt: 50, pausedTotal: 0, prusaStatsStart: null,
    filament: { source: "m78", used: 70, eUsed: 0, eLast: null, eSeen: false, m78Start: 100_000, m78Used: 70, adoptedUsed: 70 },
  };
  run([[130, "SD printing byte 5000/10000"], [131, "Stats: Filament used: 100.13m"]], s);
  assert.equal(s.job?.filament.used, 130);
});

test("a screen start cancelled in its heat-up (queries held, keep-alives only) is a cancelled job; one with no sign of running is dropped", () => {
  const heat: Step[] = [
    [0, "File opened: x.gco Size: 5000"],
    [0.1, "File selected"],
    [2, "echo:busy: processing"],
    [4, "echo:busy: processing"],
    ...[10, 12, 14, 16].map((t): Step => [t, "Not SD printing"]),
  ];
  const cancelled = run(heat);
  assert.equal(finishOf(cancelled.effects)?.status, "cancelled");
  assert.ok(!cancelled.effects.some((e) => e.kind === "drop"));
  const never = run(heat.filter(([, l]) => l !== "echo:busy: processing"));
  assert.ok(never.effects.some((e) => e.kind === "drop"));
  assert.equal(finishOf(never.effects), undefined);
});

test("an announced pause and resume: the standing reports of the pause infer no second pause", () => {
  const steps: Step[] = [
    [0, "File opened: a.gco Size: 100000"],
    [0.1, "File selected"],
    [1, "SD printing byte 1000/100000"],
    [2, "SD printing byte 2000/100000"],
    [2.5, "//action:pause"],
  ];
  for (let t = 3; t <= 8; t++) steps.push([t, "SD printing byte 2000/100000"], [t + 0.1, tick]);
  steps.push([8.5, "//action:resume"], [9, "SD printing byte 2000/100000"], [9.1, tick], [10, "SD printing byte 3000/100000"], [10.1, tick]);
  const { effects } = run(steps);
  assert.deepEqual(effects.filter((e) => e.kind === "pause" || e.kind === "resume").map((e) => [e.kind, e.time]), [["pause", 2.5], ["resume", 8.5]]);
});

/** A job a restarted printlog found in the history, recorded before any filament reading. */
function adoptedBeforeAnyReading(): RecorderState {
  const s = initialRecorderState();
  s.dialect = "marlin2";
  s.lastClosed = {
    jobId: "000004", filename: "long.gcode", sfn: "LONG.GCO", size: 10000, pos: 0, endedAt: 100, status: "interrupted",
    reopenUntil: 1e12, posAfter: null, byStrikes: false, closingUntil: 0, startedAt: 90, pausedTotal: 0, prusaStatsStart: null,
    filament: { source: null, used: 0, eUsed: 0, eLast: null, eSeen: false, m78Start: null, m78Used: null, adoptedUsed: 0 },
  };
  return s;
}
const m114 = (e: number) => `X:10.00 Y:20.00 Z:0.20 E:${e.toFixed(2)} Count X:800 Y:1600 Z:80`;

test("a re-adopted job that ends before its first M114 poll still gets its closing E (absolute E: the whole print)", () => {
  const { s, effects } = run([
    [101, "SD printing byte 9600/10000"],
    [102, "Done printing file"],
  ], adoptedBeforeAnyReading());
  assert.ok(effects.some((e) => e.kind === "reopen"));
  assert.ok(effects.some((e) => e.kind === "query" && e.command === "M114"), "the closing M114 is asked for");
  const closing = run([[102.3, m114(2400)]], s);
  const amend = closing.effects.find((e): e is Extract<Effect, { kind: "amend_filament" }> => e.kind === "amend_filament");
  assert.equal(amend?.filament_used, 2400);
});

test("readings taken mid-print before a reopen are not the next screen start's idle baseline", () => {
  // The restarted printlog reads E mid-print during its handshake, then re-adopts the job; that
  // job's closing reading is lost. The next screen start must not count from the mid-print E.
  const { s } = run([
    [100.5, m114(2120)],
    [101, "SD printing byte 9600/10000"],
    [102, "Done printing file"],
    [120, "echo:Now fresh file: long.gco"],
    [120, "File opened: long.gco Size: 10000"],
    [120.1, "File selected"],
    [121, m114(2400)], // the heat-up: E is what the last print left
    [122, "SD printing byte 0/10000"],
    [125, m114(300)], // after the start G-code's G92 E0
    [125, "SD printing byte 1500/10000"],
    [127, m114(700)],
  ], adoptedBeforeAnyReading());
  assert.equal(s.job?.filament.used, 700);
});

test("an inferred pause ends when the position rises again, dated back by the byte rate (polls lag the resume)", () => {
  // Printing at 1000 bytes/s, then the screen pauses at t=10.
  const steps = printedThenStood(10);
  const paused = run(steps);
  assert.equal(paused.s.job?.paused, true);
  // Resumed at t=21; the next report the loaded host reads is at t=23.5, 2500 bytes further on.
  const { effects, s } = run([[23.5, "SD printing byte 12500/100000"]], paused.s);
  const resumed = effects.find((e) => e.kind === "resume");
  assert.ok(resumed && Math.abs(resumed.time - 21) < 0.01, `resumed at ${resumed?.time}`);
  assert.ok(Math.abs(s.job!.pausedTotal - 11) < 0.01, `paused ${s.job!.pausedTotal} s`);
  // Never before the last report that still stood.
  const late = run([[40, "SD printing byte 90000/100000"]], run(steps).s).effects.find((e) => e.kind === "resume");
  assert.equal(late?.time, 20);
});

test("a print that completes while it looks paused had resumed unseen: the resume is dated by the bytes left, then it completes", () => {
  // Printing at 1000 bytes/s up to byte 90000, then the screen pauses at t=90.
  const steps = printedThenStood(90);
  const paused = run(steps);
  assert.equal(paused.s.job?.paused, true);
  // Resumed at t=105; the 10,000 bytes left print in 10 s and the end comes before the next report.
  const { effects } = run([[115, "Done printing file"]], paused.s);
  const kinds = effects.filter((e) => e.kind === "resume" || e.kind === "finish").map((e) => e.kind);
  assert.deepEqual(kinds, ["resume", "finish"]);
  const resumed = effects.find((e) => e.kind === "resume")!;
  assert.ok(Math.abs(resumed.time - 105) < 0.01, `resumed at ${resumed.time}`);
  const done = finishOf(effects)!;
  assert.equal(done.status, "completed");
  assert.ok(Math.abs(done.fields.print_duration! - 100) < 0.01, `print_duration ${done.fields.print_duration}`);
  // Never before the last report that still stood (t=100): an end at t=105 resumed at 100 at the earliest.
  const early = run([[105, "Done printing file"]], run(steps).s).effects.find((e) => e.kind === "resume");
  assert.equal(early?.time, 100);
});

test("a screen start whose file is closed again before any rise or keep-alive was aborted: cancelled, not dropped", () => {
  const { effects } = run([
    [0, "File opened: x.gco Size: 5000"],
    [0.1, "File selected"],
    [2, "Not SD printing"],
    [2.2, "Current file: (no file)"],
    [3, "Not SD printing"],
    [3.2, "Current file: (no file)"],
  ]);
  assert.equal(finishOf(effects)?.status, "cancelled");
  assert.ok(!effects.some((e) => e.kind === "drop"));
});

test("a file selected by another host and printed later is dated at its M24 (the first rise after the last idle report), not paused", () => {
  const steps: Step[] = [[0, "echo:Now fresh file: x.gco"], [0, "File opened: x.gco Size: 50000"], [0.1, "File selected"]];
  for (let t = 2; t < 60; t += 2) steps.push([t, "Not SD printing"], [t + 0.2, "Current file: X.GCO"], [t + 0.3, tick]);
  for (let t = 61; t < 70; t++) steps.push([t, `SD printing byte ${(t - 60) * 1000}/50000`], [t + 0.3, tick]);
  const { s, effects } = run(steps);
  assert.ok(!effects.some((e) => e.kind === "pause"), "a selection is not a pause");
  assert.ok(Math.abs(s.job!.startedAt - 58.2) < 0.01, `started ${s.job!.startedAt}`);
  assert.equal(s.job!.pausedTotal, 0);
  // The firmware's print timer (started by M24) refines it, never before the last idle report.
  run([[70, "echo:Print time: 0m 10s"]], s);
  assert.equal(s.job!.startedAt, 60);
  const early = run(steps);
  run([[70, "echo:Print time: 1m 30s"]], early.s);
  assert.ok(Math.abs(early.s.job!.startedAt - 58.2) < 0.01);
});
