// End-to-end scenarios for one printer dialect: the real printlog process, the virtual printer
// on a real pseudo-terminal, and every check made through the HTTP API.

import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { DEFAULT_FILES, VirtualPrinter, type VpDialect } from "../../scripts/virtual-printer.js";
import { http, sleep, startCli, tempDir, type RunningProcess } from "../helpers.js";

const PRINT_SECONDS = 5;

export interface DialectExpectations {
  /** Pauses the printer announces or printlog can infer (else pauses count as printing). */
  pauseDetected: boolean;
  /** Filament is measured (M114 net E, M78), so it must be within 2 %. */
  filamentMeasured: boolean;
  printcounter?: boolean;
}

/** printlog's recent log, attached to timeouts so a failure says what printlog saw. */
let currentOutput: () => string = () => "";

async function waitJob(url: string, pred: (job: any) => boolean, what: string, timeoutMs = 25_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  let last: any = null;
  while (Date.now() < until) {
    const r = await http(`${url}/server/history/list?limit=1`);
    last = r.body?.result?.jobs?.[0];
    if (last && pred(last)) return last;
    await sleep(200);
  }
  const log = currentOutput().split("\n").filter((l) => !/serial\.timeout/.test(l)).slice(-25).join("\n");
  throw new Error(`timed out waiting for ${what}; last job: ${JSON.stringify(last)}\nprintlog's log:\n${log}`);
}

function near(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual.toFixed(2)} vs expected ${expected.toFixed(2)} (±${tolerance})`);
}

export async function runDialect(t: TestContext, dialect: VpDialect, expect: DialectExpectations): Promise<void> {
  const dir = await tempDir(t);
  const link = join(dir, "printer");
  const config = join(dir, "printlog.cfg");
  // The user's copy of the card's first file, under its full name: every dialect's job can be
  // dated (metadata.modified) from it, whatever name the firmware gives.
  const gcodeDir = join(dir, "gcodes");
  await mkdir(gcodeDir);
  await writeFile(join(gcodeDir, DEFAULT_FILES[0]!.long), Buffer.alloc(DEFAULT_FILES[0]!.size, 0x3b));
  await writeFile(
    config,
    ["[printer]", `device: ${link}`, "poll_printing_seconds: 1", "poll_idle_seconds: 2", "command_timeout_seconds: 5", `gcode_dir: ${gcodeDir}`, "", "[server]", "host: 127.0.0.1", "port: 0", `data_dir: ${join(dir, "data")}`, ""].join("\n"),
  );
  const vp = new VirtualPrinter({ link, dialect, printSeconds: PRINT_SECONDS, printcounter: expect.printcounter ?? false });
  await vp.plug();
  let pl: RunningProcess = await startCli(["serve", "--config", config]);
  t.after(async () => {
    await pl.stop("SIGKILL");
    await vp.close();
  });
  await pl.waitFor(/printer\.watching/);
  currentOutput = () => pl.output();
  const url = () => pl.url;
  let lastId = "";
  const newJob = (job: any) => job.job_id !== lastId;

  const checkFilament = (job: any) => {
    if (!expect.filamentMeasured) return;
    near(job.filament_used, vp.extruded, Math.max(0.02 * vp.extruded, 10), `${dialect} filament`);
  };

  await t.test("screen start -> completed, with filename, durations and filament", async () => {
    const file = vp.startPrint("BENCHY~1.GCO");
    let job = await waitJob(url(), (j) => newJob(j) && j.status === "in_progress", "the job to start");
    assert.ok(job.filename === file.long || job.filename.toLowerCase() === file.sfn.toLowerCase(), `filename ${job.filename}`);
    assert.ok(!job.filename.startsWith("/"), "relative filename");
    job = await waitJob(url(), (j) => j.job_id === job.job_id && j.status !== "in_progress", "the job to finish");
    lastId = job.job_id;
    assert.equal(job.status, "completed");
    const truth = vp.timing.endedAt - vp.timing.startedAt;
    near(job.total_duration, truth, 2, "total_duration");
    near(job.print_duration, truth, 2, "print_duration");
    assert.equal(job.metadata.size, file.size);
    assert.equal(typeof job.metadata.modified, "number", "metadata.modified (from the listing or gcode_dir)");
    await sleep(500); // the end-of-job filament reading
    checkFilament((await http(`${url()}/server/history/job?uid=${job.job_id}`)).body.result.job);
  });

  await t.test("pause and resume from the screen -> completed, paused time excluded", async () => {
    // The long file (10 s): on a loaded machine the progress can be seen late, and a 5 s print
    // could end before the pause below.
    vp.startPrint("BENCHY~1.GCO");
    let job = await waitJob(url(), (j) => newJob(j) && j.status === "in_progress", "the job to start");
    // Paused once it prints (a pause during the start G-code's heat-up shows nothing on plain Marlin).
    const id = job.job_id;
    await waitJob(url(), (j) => j.job_id === id && (j.printlog.progress ?? 0) > 0, "the print to progress");
    await sleep(1000);
    assert.ok(vp.printing, "the printer still prints when it is paused");
    vp.pause();
    if (expect.pauseDetected) await waitJob(url(), (j) => j.printlog.paused === true, "the pause to be seen", 15_000);
    await sleep(3000);
    vp.resume();
    job = await waitJob(url(), (j) => j.job_id === job.job_id && j.status !== "in_progress", "the job to finish");
    lastId = job.job_id;
    assert.equal(job.status, "completed");
    const total = vp.timing.endedAt - vp.timing.startedAt;
    near(job.total_duration, total, 2, "total_duration");
    if (expect.pauseDetected) {
      near(job.print_duration, total - vp.timing.pausedSeconds, 2, `print_duration (timeline ${JSON.stringify(job.printlog.timeline)}, printer paused at ${vp.timing.pausedAt - vp.timing.startedAt} s for ${vp.timing.pausedSeconds} s)`);
      assert.ok(job.printlog.timeline.some((e: any) => e.event === "paused"));
      assert.ok(job.printlog.timeline.some((e: any) => e.event === "resumed"));
    }
  });

  await t.test("cancel from the screen -> cancelled", async () => {
    vp.startPrint("BENCHY~1.GCO"); // the long file, so a start seen late still leaves time to cancel
    const job = await waitJob(url(), (j) => newJob(j) && j.status === "in_progress", "the job to start");
    await sleep(1500);
    assert.ok(vp.printing, "the printer still prints when it is cancelled");
    vp.cancel();
    const done = await waitJob(url(), (j) => j.job_id === job.job_id && j.status !== "in_progress", "the cancel", 20_000);
    lastId = done.job_id;
    assert.equal(done.status, "cancelled", JSON.stringify(done.printlog.timeline));
    near(done.total_duration, vp.timing.endedAt - vp.timing.startedAt, 2, "total_duration");
  });

  await t.test("firmware halt -> klippy_shutdown with the firmware's error text", async () => {
    vp.startPrint("BENCHY~1.GCO"); // the long file: RRF's start is only seen from the SD position
    const job = await waitJob(url(), (j) => newJob(j) && j.status === "in_progress", "the job to start");
    await sleep(1000);
    vp.halt();
    const done = await waitJob(url(), (j) => j.job_id === job.job_id && j.status !== "in_progress", "the halt");
    lastId = done.job_id;
    assert.equal(done.status, "klippy_shutdown");
    assert.match(done.printlog.error_message ?? "", /THERMAL RUNAWAY|Thermal Runaway/i);
    vp.reset(); // power-cycle after a halt
    await pl.waitFor(/printer\.watching[\s\S]*printer\.watching/, 15_000).catch(() => undefined);
  });

  await t.test("printer reset mid-print -> klippy_shutdown (printer reset)", async () => {
    await sleep(2500);
    vp.startPrint("BENCHY~1.GCO");
    const job = await waitJob(url(), (j) => newJob(j) && j.status === "in_progress", "the job to start");
    await sleep(1000);
    vp.reset();
    const done = await waitJob(url(), (j) => j.job_id === job.job_id && j.status !== "in_progress", "the reset");
    lastId = done.job_id;
    assert.equal(done.status, "klippy_shutdown");
    assert.ok(done.printlog.timeline.some((e: any) => /printer reset/.test(e.detail ?? "")));
  });

  await t.test("USB unplugged mid-print and plugged back while it prints -> same job re-adopted, completed", async () => {
    await sleep(2500);
    vp.startPrint("BENCHY~1.GCO");
    const job = await waitJob(url(), (j) => newJob(j) && j.status === "in_progress", "the job to start");
    await sleep(1000);
    await vp.unplug();
    await waitJob(url(), (j) => j.job_id === job.job_id && j.status === "klippy_disconnect", "klippy_disconnect", 10_000);
    await sleep(500);
    await vp.plug();
    const done = await waitJob(url(), (j) => j.job_id === job.job_id && j.status === "completed", "the re-adopted job to complete", 30_000);
    lastId = done.job_id;
    assert.ok(done.printlog.timeline.some((e: any) => e.event === "reopened"));
    near(done.total_duration, vp.timing.endedAt - vp.timing.startedAt, 2.5, "total_duration");
    const all = (await http(`${url()}/server/history/list?limit=0`)).body.result.jobs;
    assert.equal(all.filter((j: any) => j.filename === done.filename && j.start_time === done.start_time).length, 1, "no duplicate job");
  });

  await t.test("printlog stopped (SIGTERM) and restarted mid-print -> server_exit, then the same job continues", async () => {
    vp.startPrint("BENCHY~1.GCO");
    const job = await waitJob(url(), (j) => newJob(j) && j.status === "in_progress", "the job to start");
    await sleep(1000);
    assert.equal(await pl.stop("SIGTERM"), 0, "SIGTERM exits 0");
    assert.match(pl.output(), /job\.finished.*status=server_exit/);
    pl = await startCli(["serve", "--config", config]);
    currentOutput = () => pl.output();
    const done = await waitJob(url(), (j) => j.job_id === job.job_id && j.status === "completed", "the adopted job to complete", 30_000);
    lastId = done.job_id;
    const events = done.printlog.timeline.map((e: any) => e.event);
    assert.ok(events.includes("server_exit") && events.includes("reopened"), events.join(","));
    await sleep(500); // the end-of-job filament reading
    checkFilament((await http(`${url()}/server/history/job?uid=${done.job_id}`)).body.result.job);
  });

  await t.test("printlog sent only M-codes", () => {
    const bad = vp.received.filter((c) => !/^M\d+/.test(c));
    assert.deepEqual(bad, []);
    assert.equal(vp.hostPrintingTriggered, false);
  });
}
