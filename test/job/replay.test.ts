// `printlog replay`: the real CLI rebuilds history from serial logs, deterministically.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseLogLine } from "../../src/job/replay.js";
import { CLI, http, startCli, tempDir } from "../helpers.js";

const octo = (t: number, dir: "Recv" | "Send", text: string) => {
  const d = new Date(t * 1000).toISOString();
  return `${d.slice(0, 10)} ${d.slice(11, 19)},${d.slice(20, 23)} - ${dir}: ${text}`;
};

/** An OctoPrint serial.log of a Marlin printer: a job started on the LCD, paused, resumed, completed; then one cancelled. */
function octoprintLog(): string {
  const t0 = 1_767_000_000;
  const lines: string[] = ["2026-01-01 00:00:00,000 - Connecting to port /dev/ttyUSB0, baudrate 115200"];
  let t = t0;
  const recv = (s: string, dt = 1) => lines.push(octo((t += dt), "Recv", s));
  lines.push(octo(t, "Send", "M115"));
  recv("FIRMWARE_NAME:Marlin 2.1.2 (x) SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin", 0.1);
  recv("Cap:HOST_ACTION_COMMANDS:1", 0.01);
  recv("ok", 0.01);
  recv("echo:Now fresh file: part.gco", 10);
  recv("File opened: PART.GCO Size: 10000", 0.01);
  recv("File selected", 0.01);
  recv("//action:resume", 0.01);
  for (let pos = 1000; pos <= 4000; pos += 1000) recv(`SD printing byte ${pos}/10000`, 10);
  recv("//action:paused", 1);
  recv("SD printing byte 4000/10000", 30);
  recv("//action:resumed", 30);
  for (let pos = 5000; pos <= 10000; pos += 1000) recv(`SD printing byte ${pos}/10000`, 10);
  recv("echo:Print time: 2m 0s", 2);
  recv("Done printing file", 0.5);
  recv("echo:Now fresh file: other.gco", 100);
  recv("File opened: OTHER.GCO Size: 5000", 0.01);
  recv("File selected", 0.01);
  recv("SD printing byte 500/5000", 2);
  recv("SD printing byte 900/5000", 2);
  recv("//action:cancel", 5);
  lines.push("2026-01-01 00:00:00,000 - Changing monitoring state from 'Printing' to 'Operational'");
  return lines.join("\n") + "\n";
}

test("parseLogLine reads OctoPrint's and the plain format, and skips other lines", () => {
  assert.deepEqual(parseLogLine("2019-08-19 21:24:57,294 - Recv: ok"), { time: Date.UTC(2019, 7, 19, 21, 24, 57, 294) / 1000, received: true, text: "ok" });
  assert.deepEqual(parseLogLine("2019-08-19 21:24:57,294 - Send: M27"), { time: Date.UTC(2019, 7, 19, 21, 24, 57, 294) / 1000, received: false, text: "M27" });
  assert.deepEqual(parseLogLine("1700000000.5 < Done printing file"), { time: 1700000000.5, received: true, text: "Done printing file" });
  assert.deepEqual(parseLogLine("1700000000 | ok"), { time: 1700000000, received: true, text: "ok" });
  assert.equal(parseLogLine("1700000000 > M27")?.received, false);
  assert.equal(parseLogLine("2019-08-19 21:24:57,294 - Changing monitoring state"), null);
});

test("printlog replay rebuilds the jobs of an OctoPrint serial.log, and twice gives the same history", async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, "serial.log");
  await writeFile(log, octoprintLog());
  const histories: string[] = [];
  for (const name of ["a", "b"]) {
    const data = join(dir, name);
    const r = spawnSync(process.execPath, [CLI, "replay", log, "--data-dir", data], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /2 job\(s\) found/);
    const list = spawnSync(process.execPath, [CLI, "list", "--json", "--data-dir", data], { encoding: "utf8" });
    assert.equal(list.status, 0, list.stderr);
    const jobs = JSON.parse(list.stdout).jobs;
    histories.push(JSON.stringify(jobs));
    const [cancelled, completed] = jobs;
    assert.equal(completed.status, "completed");
    assert.equal(completed.filename, "PART.GCO");
    assert.ok(Math.abs(completed.total_duration - 163.5) < 0.5, `total ${completed.total_duration}`);
    assert.ok(Math.abs(completed.print_duration - 103.5) < 0.5, `print ${completed.print_duration}`);
    assert.equal(cancelled.status, "cancelled");
    assert.equal(cancelled.filename, "OTHER.GCO");
  }
  assert.equal(histories[0], histories[1], "replay is deterministic");
});

test("printlog replay of a log ending mid-print leaves the job interrupted; a missing file is a clear error", async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, "plain.log");
  await writeFile(log, ["1700000000 < File opened: A.GCO Size: 1000", "1700000000.1 < File selected", "1700000001 < SD printing byte 10/1000", "1700000003 < SD printing byte 50/1000", "1700000004 > M27"].join("\n"));
  const r = spawnSync(process.execPath, [CLI, "replay", log, "--data-dir", join(dir, "d")], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const jobs = JSON.parse(spawnSync(process.execPath, [CLI, "list", "--json", "--data-dir", join(dir, "d")], { encoding: "utf8" }).stdout).jobs;
  assert.equal(jobs[0].status, "interrupted");
  const missing = spawnSync(process.execPath, [CLI, "replay", join(dir, "nope.log"), "--data-dir", join(dir, "d")], { encoding: "utf8" });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no such file/i);
  const usage = spawnSync(process.execPath, [CLI, "replay"], { encoding: "utf8" });
  assert.equal(usage.status, 2);
});

/** An OctoPrint serial.log of a plain Marlin 2.1.2.1 with what the host sent: a host-started
 *  print paused, resumed and cancelled by the host; a print stopped after a firmware error; an
 *  older firmware's pause seen as `Not SD printing` and the same byte later; a host's M112. */
function hostLog(t0: number): string {
  const lines: string[] = [];
  const at = (dt: number, dir: "Recv" | "Send", s: string) => lines.push(octo(t0 + dt, dir, s));
  at(0, "Send", "M115");
  at(0.1, "Recv", "FIRMWARE_NAME:Marlin 2.1.2.1 (x) SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin");
  at(0.2, "Recv", "ok");
  // A: the host selects (M23), starts 65 s later (M24), pauses (M25), resumes (M24), cancels (M524).
  at(10, "Send", "N10 M23 part.gco*33");
  at(10.1, "Recv", "File opened: PART.GCO Size: 10000");
  at(10.2, "Recv", "File selected");
  at(10.3, "Recv", "ok");
  at(75, "Send", "M24");
  for (let i = 1; i <= 4; i++) at(75 + 2 * i, "Recv", `SD printing byte ${i * 1000}/10000`);
  at(84, "Send", "M25");
  at(90, "Recv", "SD printing byte 4000/10000");
  at(114, "Send", "M24");
  at(116, "Recv", "SD printing byte 5000/10000");
  at(118, "Recv", "SD printing byte 6000/10000");
  at(119, "Send", "M524");
  at(119.1, "Recv", "ok");
  // B: a screen start, an error, then the print stops.
  at(200, "Recv", "File opened: qb.gco Size: 9000");
  at(200.1, "Recv", "File selected");
  at(202, "Recv", "SD printing byte 1000/9000");
  at(204, "Recv", "SD printing byte 2000/9000");
  at(205, "Recv", "Error:Probing Failed");
  for (let i = 0; i < 4; i++) at(206 + 2 * i, "Recv", "Not SD printing");
  // C: `Not SD printing` for a minute, then the same file carries on from the same byte.
  at(300, "Recv", "File opened: c.gco Size: 8000");
  at(300.1, "Recv", "File selected");
  for (let i = 1; i <= 3; i++) at(300 + 2 * i, "Recv", `SD printing byte ${i * 1000}/8000`);
  for (let i = 0; i < 4; i++) at(308 + 2 * i, "Recv", "Not SD printing");
  for (let i = 3; i <= 8; i++) at(360 + 2 * (i - 3), "Recv", `SD printing byte ${i * 1000}/8000`);
  at(371, "Recv", "Done printing file");
  // D: the host's emergency stop.
  at(400, "Recv", "File opened: d.gco Size: 8000");
  at(400.1, "Recv", "File selected");
  at(402, "Recv", "SD printing byte 1000/8000");
  at(404, "Recv", "SD printing byte 2000/8000");
  at(405, "Send", "M112");
  // E: OctoPrint's SD cancel: pause, then rewind.
  at(500, "Recv", "start");
  at(501, "Recv", "File opened: e.gco Size: 8000");
  at(501.1, "Recv", "File selected");
  at(503, "Recv", "SD printing byte 1000/8000");
  at(505, "Recv", "SD printing byte 2000/8000");
  at(506, "Send", "M25");
  at(507, "Send", "M26 S0");
  return lines.join("\n") + "\n";
}

test("printlog replay uses what the host sent (M23/M24/M25/M524/M112), a carry-on from the same byte is a pause, an error's text once", async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, "serial.log");
  const t0 = 1_767_100_000;
  await writeFile(log, hostLog(t0));
  const data = join(dir, "data");
  const r = spawnSync(process.execPath, [CLI, "replay", log, "--data-dir", data], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const jobs = JSON.parse(spawnSync(process.execPath, [CLI, "list", "--json", "--data-dir", data], { encoding: "utf8" }).stdout).jobs.reverse();
  assert.equal(jobs.length, 5, JSON.stringify(jobs.map((j: any) => [j.filename, j.status])));
  const [a, b, c, d, e] = jobs;
  // A: dated at the host's M24, not at its M23 65 s earlier; the M25..M24 gap is a pause.
  assert.equal(a.filename, "PART.GCO");
  assert.equal(a.status, "cancelled");
  assert.ok(Math.abs(a.start_time - (t0 + 75)) < 0.01, `start ${a.start_time - t0}`);
  assert.ok(Math.abs(a.total_duration - 44) < 0.01, `total ${a.total_duration}`);
  assert.ok(Math.abs(a.print_duration - 14) < 0.01, `print ${a.print_duration}`);
  // B: error, the text once.
  assert.equal(b.status, "error");
  assert.equal(b.printlog?.error_message ?? b.error_message, "Probing Failed");
  // C: one job; the minute of `Not SD printing` before the same byte went on is a pause.
  assert.equal(c.status, "completed");
  assert.ok(Math.abs(c.total_duration - 71) < 0.01, `total ${c.total_duration}`);
  assert.ok(Math.abs(c.print_duration - 17) < 0.01, `print ${c.print_duration}`);
  // D: the host's M112 is a halt.
  assert.equal(d.status, "klippy_shutdown");
  // E: M25 then M26 S0 is OctoPrint's SD cancel.
  assert.equal(e.status, "cancelled");
  assert.ok(Math.abs(e.end_time - (t0 + 507)) < 0.01, `end ${e.end_time - t0}`);
  // The same through the API a client reads, served from the replayed data directory.
  const pl = await startCli(["serve", "--data-dir", data, "--host", "127.0.0.1", "--http-port", "0", "--device", "none"]);
  t.after(() => pl.stop("SIGTERM"));
  const served = (await http(`${pl.url}/server/history/list?limit=0&order=asc`)).body.result.jobs;
  assert.deepEqual(
    served.map((j: any) => [j.status, j.start_time, j.print_duration, j.total_duration]),
    jobs.map((j: any) => [j.status, j.start_time, j.print_duration, j.total_duration]),
  );
});
