// Table tests of the live-state parsers on real firmware lines (serial-protocol.md ids and
// captures named per row), and of the state model's transitions with time as an argument.

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseDisplayMessage, parseFirmware, parseHalt, parsePosition, parseTemperatures } from "../../src/printer/line-parsers.js";
import { linkClosed, linkOpened, newPrinterModel, observeLine, tickModel } from "../../src/printer/model.js";
import { consoleLine, planScript } from "../../src/printer/console.js";

test("temperature reports", () => {
  const rows: [string, string, Record<string, { temperature: number; target: number | null; power: number | null }> | null][] = [
    ["Marlin M105 (T1, capture C8)", "ok T:210.00 /210.00 B:60.00 /60.00 @:40 B@:0", { extruder: { temperature: 210, target: 210, power: 40 / 127 }, heater_bed: { temperature: 60, target: 60, power: 0 } }],
    ["Marlin M155 autoreport, leading space (T1)", " T:25.31 /0.00 B:24.80 /0.00 @:0 B@:0", { extruder: { temperature: 25.31, target: 0, power: 0 }, heater_bed: { temperature: 24.8, target: 0, power: 0 } }],
    ["two extruders, T0 authoritative", "ok T:200.0 /200.0 T0:200.0 /200.0 T1:30.5 /0.0 B:60.0 /60.0 @:127 B@:10 @0:127 @1:0", { extruder: { temperature: 200, target: 200, power: 1 }, extruder1: { temperature: 30.5, target: 0, power: 0 }, heater_bed: { temperature: 60, target: 60, power: 10 / 127 } }],
    ["chamber", "T:25.0 /0.0 B:25.0 /0.0 C:31.5 /40.0 @:0 B@:0 C@:64", { extruder: { temperature: 25, target: 0, power: 0 }, heater_bed: { temperature: 25, target: 0, power: 0 }, "heater_generic chamber": { temperature: 31.5, target: 40, power: 64 / 127 } }],
    ["M109 wait line (T1)", "T:25.3 E:0 W:?", { extruder: { temperature: 25.3, target: null, power: null } }],
    ["M114 is not a temperature", "X:10.00 Y:20.00 Z:0.20 E:1.00 Count X:800 Y:1600 Z:80", null],
    ["echo is not a temperature", "echo:Print time: 1m 2s", null],
  ];
  for (const [label, line, want] of rows) {
    const got = parseTemperatures(line);
    if (want === null) assert.equal(got, null, label);
    else {
      assert.deepEqual(Object.keys(got ?? {}).sort(), Object.keys(want).sort(), label);
      for (const [k, v] of Object.entries(want)) {
        assert.equal(got![k]!.temperature, v.temperature, label);
        assert.equal(got![k]!.target, v.target, label);
        if (v.power === null) assert.equal(got![k]!.power, null, label);
        else assert.ok(Math.abs(got![k]!.power! - v.power) < 1e-9, label);
      }
    }
  }
});

test("position, firmware, display text, halts", () => {
  assert.deepEqual(parsePosition("X:0.00 Y:116.91 Z:8.42 E:-4.00 Count X:0 Y:9353 Z:3393"), [0, 116.91, 8.42, -4]); // T3 capture C9
  assert.deepEqual(parsePosition("X:10.00 Y:20.00 Z:0.20 E:1.50 Count X: 10.00 Y:20.00 Z:0.20 E:1.50"), [10, 20, 0.2, 1.5]); // Prusa T4
  assert.equal(parsePosition("echo:X:1"), null);
  assert.deepEqual(parseFirmware("FIRMWARE_NAME:Marlin 2.1.2 (Feb 19 2023 23:45:39) SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin PROTOCOL_VERSION:1.0 MACHINE_TYPE:Orca 3 EXTRUDER_COUNT:2 UUID:cede2a2f"), { name: "Marlin 2.1.2", version: null, machine: "Orca 3", extruders: 2 }); // I1
  assert.equal(parseFirmware("FIRMWARE_NAME:Marlin V1; Sprinter/grbl mashup for gen6 FIRMWARE_URL:http://www.mendel-parts.com PROTOCOL_VERSION:1.0 MACHINE_TYPE:www.creality3d.cn EXTRUDER_COUNT:1")?.name, "Marlin V1"); // I4
  const rrf = parseFirmware("FIRMWARE_NAME: RepRapFirmware for Duet 3 Mini 5+ FIRMWARE_VERSION: 3.5.1 ELECTRONICS: Duet 3 Mini5plus WiFi"); // I5
  assert.equal(rrf?.name, "RepRapFirmware for Duet 3 Mini 5+");
  assert.equal(rrf?.version, "3.5.1");
  assert.equal(parseFirmware("FIRMWARE_NAME:x EXTRUDER_COUNT:99")?.extruders, 1, "absurd counts are ignored");
  assert.equal(parseDisplayMessage("//action:notification Ender-3 Ready."), "Ender-3 Ready."); // U9
  assert.equal(parseDisplayMessage('echo:enqueueing "M117 Layer 3"'), "Layer 3");
  assert.equal(parseDisplayMessage("//action:pause"), null);
  assert.equal(parseHalt("Error:Printer halted. kill() called!"), "Printer halted. kill() called!"); // E1
  assert.equal(parseHalt("Error:Thermal Runaway, system stopped! Heater_ID: 0"), "Thermal Runaway, system stopped! Heater_ID: 0"); // E2
  assert.ok(parseHalt("!! KILL caused by KILL button/pin")); // E6
  assert.equal(parseHalt("Error:Line Number is not Last Line Number+1, Last Line: 297"), null); // E10
  assert.equal(parseHalt("Error:checksum mismatch, Last Line: 12"), null);
});

test("the console: what is forwarded and what may be sent", () => {
  assert.equal(consoleLine("echo:SD card ok", false), "// SD card ok");
  assert.equal(consoleLine("//action:notification Hi", false), "//action:notification Hi");
  assert.equal(consoleLine("ok", false), null);
  assert.equal(consoleLine("Done printing file", false), "// Done printing file");
  assert.equal(consoleLine("SD printing byte 10/100", false), null);
  assert.equal(consoleLine("Stats: Prints: 10, Finished: 8, Failed: 2", false), null);
  assert.equal(consoleLine("echo:busy: processing", false), null);
  assert.equal(consoleLine("Resend: 12", false), null);
  assert.equal(consoleLine("Error:checksum mismatch, Last Line: 3", false), null);
  assert.equal(consoleLine('echo:Unknown command: "M78"', false), null);
  assert.equal(consoleLine(" T:25.0 /0.0 B:25.0 /0.0 @:0 B@:0", false), null);
  assert.equal(consoleLine("Error:Printer halted. kill() called!", true), "!! Printer halted. kill() called!");
  assert.deepEqual(planScript("M105\n; a comment\nm114"), { ok: true, commands: ["M105", "M114"] });
  assert.equal(planScript("M27 S1").ok, false, "arguments could change the printer's reporting");
  assert.equal(planScript("G28").ok, false);
  assert.equal(planScript("M105\nM112").ok, false);
});

test("the Klippy state model", () => {
  const m = newPrinterModel("/dev/ttyUSB0", 0);
  assert.equal(m.state, "disconnected");
  assert.equal(linkOpened(m, "/dev/ttyUSB0", 115200, 1), null);
  assert.equal(m.state, "startup");
  assert.equal(observeLine(m, "FIRMWARE_NAME:Marlin 2.1.2.1 (x) EXTRUDER_COUNT:1", 2), null);
  assert.equal(observeLine(m, "ok", 2), "notify_klippy_ready");
  assert.equal(observeLine(m, "Error:Thermal Runaway, system stopped! Heater_ID: 0", 3), "notify_klippy_shutdown");
  observeLine(m, "Error:Printer halted. kill() called!", 3);
  assert.match(m.message, /^Thermal Runaway/, "the first fatal line names the cause");
  // printlog reopening a silent port keeps the shutdown; only a boot clears it.
  assert.equal(linkClosed(m, "the printer stopped answering", 20), null);
  assert.equal(linkOpened(m, "/dev/ttyUSB0", 115200, 21), null);
  assert.equal(m.state, "shutdown");
  assert.equal(observeLine(m, "start", 22), null);
  assert.equal(m.state, "startup");
  // Baud-rate fallback closes and reopens the port; the handshake clock keeps running.
  assert.equal(linkClosed(m, "trying another baud rate", 30), null);
  assert.equal(linkOpened(m, "/dev/ttyUSB0", 250000, 31), null);
  assert.equal(m.since, 22);
  assert.equal(tickModel(m, 22 + 19), null);
  assert.equal(tickModel(m, 22 + 20), null);
  assert.equal(m.state, "error", "an unanswered handshake is explained");
  assert.match(m.message, /No answer to M115/);
  observeLine(m, "FIRMWARE_NAME:Marlin 2.1.2.1 (x) EXTRUDER_COUNT:1", 50);
  assert.equal(observeLine(m, "ok", 50), "notify_klippy_ready");
  assert.equal(linkClosed(m, "port closed", 60), "notify_klippy_disconnected");
  assert.equal(tickModel(m, 69), null);
  assert.equal(tickModel(m, 70), null);
  assert.equal(m.state, "error");
  assert.match(m.message, /No printer on \/dev\/ttyUSB0: port closed/);
  const prusa = newPrinterModel("/dev/ttyACM0", 0);
  observeLine(prusa, "Error: HOTEND THERMAL RUNAWAY", 5); // Prusa MK3 names the cause first
  assert.equal(observeLine(prusa, "Error:Printer halted. kill() called!", 5), "notify_klippy_shutdown");
  assert.match(prusa.message, /^HOTEND THERMAL RUNAWAY \(Printer halted\. kill\(\) called!\)/);
  const none = newPrinterModel("none", 0);
  assert.equal(tickModel(none, 1000), null);
  assert.equal(none.state, "disconnected");
});
