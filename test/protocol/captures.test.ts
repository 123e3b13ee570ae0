// Real captures (serial-protocol.md §4) through the parser and the job reducer, each with the
// inference the reference expects; and single lines from §1, each labelled with its firmware.

import { test } from "node:test";
import assert from "node:assert/strict";
import { parseLine } from "../../src/protocol/parse.js";
import type { PrinterEvent } from "../../src/protocol/events.js";
import { initialRecorderState, reduce } from "../../src/job/reducer.js";
import type { Effect, RecorderState } from "../../src/job/types.js";
import { CAPTURES, type Capture } from "./captures.js";

/** Feeds a capture, one line a second, into a reducer whose firmware is already known. */
function replay(c: Capture, setup?: (s: RecorderState) => void): { state: RecorderState; effects: Effect[]; events: PrinterEvent[] } {
  const state = initialRecorderState();
  state.dialect = c.dialect;
  setup?.(state);
  const effects: Effect[] = [];
  const events: PrinterEvent[] = [];
  let t = 1000;
  for (const line of c.lines) {
    const ev = parseLine(line, { dialect: state.dialect, inFileList: state.inFileList });
    events.push(ev);
    effects.push(...reduce(state, ev, t).effects);
    t += 1;
  }
  return { state, effects, events };
}

const capture = (id: string): Capture => CAPTURES.find((c) => c.id === id)!;
const kinds = (effects: Effect[]) => effects.filter((e) => e.kind !== "query" && e.kind !== "update").map((e) => (e.kind === "finish" ? `finish:${e.status}` : e.kind));

/** Puts the reducer into "printing <file>" as if a start had been seen. */
function printing(filename: string, size: number) {
  return (s: RecorderState) => {
    reduce(s, { type: "file_opened", name: filename, size }, 900);
    reduce(s, { type: "sd_progress", pos: 100, size }, 901);
    assert.ok(s.job, "set-up started a job");
  };
}

test("C1 Marlin/Sprinter (OctoPrint#30): File opened + rising SD position -> job started, box1.gco, 193158 bytes", () => {
  const { effects, state } = replay(capture("C1"));
  const start = effects.find((e) => e.kind === "start");
  assert.ok(start && start.kind === "start");
  assert.equal(start.filename, "box1.gco");
  assert.equal(start.metadata["size"], 193158);
  assert.ok(Math.abs((state.job!.progress ?? 0) - 534 / 193158) < 1e-9);
});

test("C2 Prusa MK2 3.0.x (Prusa-Firmware#97): M27's three lines -> printing, long name, bytes", () => {
  const { events } = replay(capture("C2"));
  assert.deepEqual(events[1], { type: "sd_progress", pos: 12671, size: 151667 });
  assert.deepEqual(events[2], { type: "elapsed", minutes: 3 });
  // Adopted on the next rising report, named by the line before the bytes.
  const c = capture("C2");
  const again: Capture = { ...c, lines: [...c.lines, "GoPro_session_Lens_Cap_PLA.gcode", "SD printing byte 14000/151667", "00:04", "ok"] };
  const { effects, state } = replay(again);
  assert.ok(effects.some((e) => e.kind === "start"));
  assert.equal(state.job!.filename, "GoPro_session_Lens_Cap_PLA.gcode");
});

test("C3 Prusa MK2.5 (Prusa-Firmware#1064): NORMAL MODE progress 1 %, 182 min; SILENT ignored", () => {
  const { events } = replay(capture("C3"));
  assert.deepEqual(events[0], { type: "m73", percent: 1, remainingMin: 182 });
  assert.equal(events[1]!.type, "other");
  assert.deepEqual(events[3], { type: "sd_progress", pos: 83855, size: 9057980 });
});

test("C5 Prusa MK3 LCD start (Prusa-Link #252): enqueing M24 starts the job; the racing 'Not SD printing' does not end it", () => {
  const { effects, state } = replay(capture("C5"));
  assert.deepEqual(kinds(effects), ["start"]);
  const start = effects.find((e) => e.kind === "start")!;
  assert.ok(start.kind === "start");
  assert.equal(start.filename, "HesAPirate.gcode");
  assert.equal(start.metadata["size"], 7023);
  assert.ok(state.job, "still printing");
});

test("C6 Prusa MK3 host print with M73 (OctoPrint#4398): progress lines parse, -1 means unknown, no job from M73 alone", () => {
  const { effects, events } = replay(capture("C6"));
  assert.deepEqual(events[1], { type: "m73", percent: 0, remainingMin: 15 });
  assert.equal(events[0]!.type, "ok");
  assert.deepEqual(kinds(effects), []);
});

test("C7 Anycubic Knutwurst Marlin 2.0.x (#289): thermal runaway then halt -> the job ends as klippy_shutdown with the text", () => {
  const { effects, state } = replay(capture("C7"), printing("PART.GCO", 5000));
  const fin = effects.find((e) => e.kind === "finish");
  assert.ok(fin && fin.kind === "finish");
  assert.equal(fin.status, "klippy_shutdown");
  assert.match(fin.errorMessage ?? "", /Thermal Runaway, system stopped! Heater_ID: E0/);
  assert.equal(state.job, null);
});

test("C9 Ender-3 Pro Marlin 2.0.x (PR #17302): end-of-print echo lines and M0 wait are not a cancel; print time parses", () => {
  const { effects, events } = replay(capture("C9"), printing("BENCHY.GCO", 5000));
  assert.deepEqual(kinds(effects), []);
  assert.ok(events.some((e) => e.type === "print_time" && e.seconds === 439));
  assert.ok(events.some((e) => e.type === "busy" && e.reason === "paused for user"));
});

test("C10 Marlin host actions (OctoPrint#4027): //action:paused pauses; busy is not an error", () => {
  const { effects, state } = replay(capture("C10"), printing("PART.GCO", 5000));
  assert.deepEqual(kinds(effects), ["pause"]);
  assert.equal(state.job!.paused, true);
});

test("C11 Marlin 1.1.4 boot on port open (OctoPrint#2077): a start banner during a job -> klippy_shutdown, printer reset", () => {
  const { effects } = replay(capture("C11"), printing("PART.GCO", 5000));
  const fin = effects.find((e) => e.kind === "finish");
  assert.ok(fin && fin.kind === "finish");
  assert.equal(fin.status, "klippy_shutdown");
  assert.match(fin.reason, /printer reset/);
});

test("C13 Marlin 2.1.2 M115 (OctoPrint#4737): identity, dialect and capabilities; no job", () => {
  const { effects, state, events } = replay(capture("C13"));
  assert.deepEqual(events[0], {
    type: "firmware",
    name: "Marlin 2.1.2 (Feb 19 2023 23:45:39)",
    version: "2.1.2",
    dialect: "marlin2",
    machine: "Orca 3",
  });
  assert.equal(state.caps["HOST_ACTION_COMMANDS"], true);
  assert.equal(state.caps["SDCARD"], false);
  assert.equal(state.caps["BUILD_PERCENT"], false);
  assert.deepEqual(kinds(effects), []);
});

test("C14 Prusa MINI Buddy 4.3.4 (#2387): dialect buddy, SFN-only listing, no job", () => {
  const { effects, state } = replay(capture("C14"));
  assert.equal(state.dialect, "prusa_buddy");
  assert.deepEqual(state.files["xyzcal~1.gco"], { sfn: "XYZCAL~1.GCO", size: null, long: null, modified: null });
  assert.deepEqual(kinds(effects), []);
});

test("C15 Prusa MK3S 3.10.1 M115 (PR #3416): dialect prusa_mk3, no AUTOREPORT_SD_STATUS", () => {
  const { state } = replay(capture("C15"));
  assert.equal(state.dialect, "prusa_mk3");
  assert.equal(state.caps["AUTOREPORT_SD_STATUS"], undefined);
  assert.equal(state.caps["EXTENDED_M20"], true);
});

test("C17 Marlin PRINTCOUNTER M78 (OctoPrint-EEPROM-Marlin#41): counters and filament in mm", () => {
  const { events } = replay(capture("C17"));
  assert.deepEqual(events[0], { type: "stats_counts", prints: 1683, finished: 1489, failed: 194 });
  assert.deepEqual(events[2], { type: "stats_filament", mm: 29846780 });
});

test("C19 Klipper vSD (klipper#877): 'Not SD printing.' while paused is not a cancel", () => {
  const c = capture("C19");
  const { effects, state } = replay(c, (s) => {
    printing("BIG.GCO", 23818682)(s);
    reduce(s, { type: "action", action: "paused", arg: "" }, 902);
  });
  assert.deepEqual(kinds(effects), []);
  assert.equal(state.job!.paused, true);
});

test("C20 Jyers Marlin LCD cancel (Jyers/Marlin#702): //action:cancel -> cancelled; PLR and DWIN lines start nothing", () => {
  const { effects, state } = replay(capture("C20"), printing("PART.GCO", 5000));
  assert.deepEqual(kinds(effects), ["finish:cancelled"]);
  assert.equal(state.job, null);
});

// ---- single lines, §1 table (firmware, id) ----
const LINES: [string, string, string, Partial<PrinterEvent> & { type: PrinterEvent["type"] }][] = [
  ["Marlin 2.x", "S2", "File opened: BOX1.GCO Size: 193158", { type: "file_opened", name: "BOX1.GCO", size: 193158 }],
  ["Klipper/Smoothie", "S3", "File opened:/sd/x.g Size:123", { type: "file_opened", name: "/sd/x.g", size: 123 }],
  ["RRF", "S6", "File opened", { type: "file_opened", name: null, size: null }],
  ["Marlin 1.1", "S10", 'echo:enqueueing "M24"', { type: "enqueued", command: "M24" }],
  ["Marlin", "S8", "open failed, File: name.gco.", { type: "open_failed", name: "name.gco" }],
  ["Klipper/RRF", "P3", "Not SD printing.", { type: "not_sd_printing" }],
  ["Smoothie", "P4", "Not currently playing", { type: "not_sd_printing" }],
  ["Prusa MK3 3.13", "P5", "1:5", { type: "elapsed", minutes: 65 }],
  ["Prusa MK3", "P6", "SD print paused", { type: "sd_paused" }],
  ["Marlin M73_REPORT", "P7", "echo: M73 Progress: 25%; Time left: 456m; Change: 12m;", { type: "m73", percent: 25, remainingMin: 456 }],
  ["Marlin M27 C", "P12", "Current file: BOX1.GCO My Long Name.gcode", { type: "current_file", sfn: "BOX1.GCO", long: "My Long Name.gcode" }],
  ["Marlin M27 C", "P12", "Current file: (no file)", { type: "current_file", sfn: null, long: null }],
  ["RRF", "D5", "Cancelled printing file 0:/gcodes/x.gcode, print time was 0h 12m", { type: "rrf_stop", reason: "cancelled", file: "0:/gcodes/x.gcode" }],
  ["RRF", "D5", "Finished printing file 0:/gcodes/x.gcode, print time was 1h 23m", { type: "rrf_stop", reason: "finished", file: "0:/gcodes/x.gcode" }],
  ["Buddy", "U6", "// action:pause", { type: "action", action: "pause", arg: "" }],
  ["Marlin runout", "U10", "//action:paused filament_runout 0", { type: "action", action: "paused", arg: "filament_runout 0" }],
  ["Marlin", "E5", "Error:Printer stopped due to errors. Fix the error and use M999 to restart. (Temperature is reset. Set it after restarting)", { type: "error", kind: "stopped" }],
  ["Marlin", "E6", "!! KILL caused by KILL button/pin", { type: "error", kind: "kill" }],
  ["Prusa MK3", "E7", "Error:0: Heaters switched off. MAXTEMP triggered!", { type: "error", kind: "thermal" }],
  ["Prusa MK3", "E7", "Error: HOTEND THERMAL RUNAWAY", { type: "error", kind: "thermal" }],
  ["Prusa MK3", "E8", "echo:Printer stopped due to errors. Supervision required.", { type: "error", kind: "recoverable" }],
  ["Marlin", "E10", "Error:Line Number is not Last Line Number+1, Last Line: 297", { type: "error", kind: "protocol" }],
  ["Marlin", "E10", 'echo:Unknown command: "M73 P27 R69 Q27 S69"', { type: "error", kind: "unknown_command" }],
  ["Marlin 2.1", "E3", "Error:MINTEMP triggered, system stopped! Heater_ID: bed", { type: "error", kind: "thermal" }],
  ["Marlin", "T1", " T:210.00 /210.00 B:60.00 /60.00 @:40 B@:0", { type: "temperature" }],
  ["Prusa MK3", "T6", "STATS 12345 min 6789 cm.", { type: "prusa_stats", minutes: 12345, mm: 67890 }],
  ["Prusa MK3", "T8", "echo:12 min, 34 sec", { type: "print_time", seconds: 754 }],
  ["Marlin", "T7", "echo:Print time: 1h 2m 3s", { type: "print_time", seconds: 3723 }],
  ["Prusa MK3", "T4", "X:0.00 Y:0.00 Z:0.15 E:1.50 Count X: 0.00 Y:0.00 Z:0.15 E:1.40", { type: "position", e: 1.5, eCount: 1.4 }],
  ["Marlin", "B1", "start", { type: "boot" }],
  ["RRF", "I5", "FIRMWARE_NAME: RepRapFirmware for Duet 3 MB6HC FIRMWARE_VERSION: 3.5.x ELECTRONICS: Duet 3", { type: "firmware", dialect: "rrf" }],
  ["Creality stock", "I4", "FIRMWARE_NAME:Marlin V1; Sprinter/grbl mashup for gen6 FIRMWARE_URL:http://www.mendel-parts.com PROTOCOL_VERSION:1.0 MACHINE_TYPE:www.creality3d.cn", { type: "firmware", dialect: "marlin1" }],
  ["Klipper", "I6", "ok FIRMWARE_NAME:Klipper FIRMWARE_VERSION:v0.12", { type: "firmware", dialect: "klipper" }],
];

for (const [firmware, id, line, expected] of LINES) {
  test(`line ${id} (${firmware}): ${JSON.stringify(line).slice(0, 70)}`, () => {
    const ev = parseLine(line) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(ev[k], v, `${k} of ${JSON.stringify(ev)}`);
  });
}

test("line noise: NUL, CR, control bytes and over-long lines are cleaned and capped", () => {
  assert.deepEqual(parseLine("\0\0Done printing file\r"), { type: "done_printing" });
  const long = parseLine("x".repeat(100_000));
  assert.equal(long.type, "other");
  assert.ok(long.type === "other" && long.text.length <= 1024);
  assert.equal(parseLine("\uFFFD\uFFFD garbage \x07").type, "other");
});

test("PRINTCOUNTER: a new job's Failed baseline is the first M78 after its start, not the counters from before the last cancel", () => {
  const s = initialRecorderState();
  s.dialect = "marlin2";
  reduce(s, { type: "stats_counts", prints: 10, finished: 8, failed: 2 }, 1); // known before job 1
  reduce(s, { type: "file_opened", name: "A.GCO", size: 1000 }, 2);
  reduce(s, { type: "sd_progress", pos: 10, size: 1000 }, 3);
  reduce(s, { type: "stats_counts", prints: 11, finished: 8, failed: 2 }, 4);
  const cancel = reduce(s, { type: "action", action: "cancel", arg: "" }, 5).effects; // job 1 cancelled: Failed becomes 3
  assert.ok(cancel.some((e) => e.kind === "finish" && e.status === "cancelled"));
  reduce(s, { type: "file_opened", name: "B.GCO", size: 1000 }, 10);
  reduce(s, { type: "sd_progress", pos: 10, size: 1000 }, 11);
  const first = reduce(s, { type: "stats_counts", prints: 12, finished: 8, failed: 3 }, 12).effects;
  assert.deepEqual(first.filter((e) => e.kind === "finish"), [], "the first M78 of job 2 is its baseline");
  assert.ok(s.job);
  const abort = reduce(s, { type: "stats_counts", prints: 12, finished: 8, failed: 4 }, 20).effects;
  assert.ok(abort.some((e) => e.kind === "finish" && e.status === "cancelled"), "a later rise is an abort");
});
