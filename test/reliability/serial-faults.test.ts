// Serial faults through the real process and a real pseudo-terminal: line noise in the middle
// of a print, a printer that stops answering (then answers again), and printlog itself stalled
// while the printer goes on answering.

import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { VirtualPrinter } from "../../scripts/virtual-printer.js";
import { http, sleep, startCli, tempDir } from "../helpers.js";

async function setup(t: { after(fn: () => unknown): void }, timeout = 5, printSeconds = 8) {
  const dir = await tempDir(t);
  const link = join(dir, "printer");
  const cfg = join(dir, "c.cfg");
  await writeFile(cfg, `[server]\nhost: 127.0.0.1\nport: 0\ndata_dir: ${join(dir, "d")}\n[printer]\ndevice: ${link}\npoll_printing_seconds: 1\npoll_idle_seconds: 2\ncommand_timeout_seconds: ${timeout}\n`);
  const vp = new VirtualPrinter({ link, dialect: "marlin2_host", printSeconds });
  await vp.plug();
  const pl = await startCli(["serve", "--config", cfg]);
  t.after(async () => {
    await pl.stop("SIGKILL");
    await vp.close();
  });
  await pl.waitFor(/printer\.watching/);
  return { vp, pl };
}

async function lastJob(url: string): Promise<any> {
  return (await http(`${url}/server/history/list?limit=1`)).body.result.jobs[0];
}

/** The last job once `done` holds for it, asking every 200 ms at most `tries` times (else the last seen). */
async function lastJobWhen(url: string, done: (job: any) => boolean, tries: number): Promise<any> {
  let job: any;
  for (let i = 0; i < tries; i++) {
    job = await lastJob(url);
    if (done(job)) break;
    await sleep(200);
  }
  return job;
}

test("line noise mid-print (random bytes, a 100 kB line, invalid UTF-8, NULs): no crash, no extra job, completed", { timeout: 60_000 }, async (t) => {
  const { vp, pl } = await setup(t);
  vp.noise(); // while idle: must create no job
  await sleep(1500);
  assert.equal(await lastJob(pl.url), undefined);
  vp.startPrint("CUBE~1.GCO");
  await sleep(2000);
  for (let i = 0; i < 3; i++) {
    vp.noise();
    await sleep(700);
  }
  const job = await lastJobWhen(pl.url, (j) => j?.status && j.status !== "in_progress", 100);
  assert.equal(job.status, "completed");
  assert.equal(job.filename, "calibration cube.gcode");
  const all = (await http(`${pl.url}/server/history/list?limit=0`)).body.result;
  assert.equal(all.count, 1, "noise created no job");
  assert.equal(pl.proc.exitCode, null, "still running");
});

test("a printer that stops answering: the port is reopened, the job becomes klippy_disconnect, and is re-adopted when it answers again", { timeout: 90_000 }, async (t) => {
  const { vp, pl } = await setup(t, 2);
  vp.startPrint("BENCHY~1.GCO"); // 16 s
  let job = await lastJobWhen(pl.url, (j) => j?.status === "in_progress", 50);
  assert.equal(job.status, "in_progress");
  vp.muted = true;
  await pl.waitFor(/printer\.silent/, 30_000);
  job = await lastJobWhen(pl.url, (j) => j?.status === "klippy_disconnect", 50);
  assert.equal(job.status, "klippy_disconnect");
  assert.equal((await http(`${pl.url}/server/history/totals`)).status, 200, "the API kept answering");
  vp.muted = false;
  job = await lastJobWhen(pl.url, (j) => j?.status === "completed", 150);
  assert.equal(job.status, "completed", JSON.stringify(job.printlog.timeline));
  assert.ok(job.printlog.timeline.some((e: any) => e.event === "reopened"));
});

test("printlog stalled for longer than the silence limit (SIGSTOP) while the printer answers: no reopen, the job completes", { timeout: 90_000 }, async (t) => {
  // Command timeout 3 s: the port is reopened after 10 s of silence. An SD card's slow fsync or
  // swapping stalls printlog the same way; the answers wait in the pseudo-terminal meanwhile.
  const { vp, pl } = await setup(t, 3, 15);
  vp.startPrint("BENCHY~1.GCO"); // 30 s
  let job = await lastJobWhen(pl.url, (j) => j?.status === "in_progress", 50);
  assert.equal(job.status, "in_progress");
  await sleep(3000); // a few ticks and polls into the print
  process.kill(pl.proc.pid!, "SIGSTOP");
  await sleep(13_000);
  process.kill(pl.proc.pid!, "SIGCONT");
  job = await lastJobWhen(pl.url, (j) => j?.status !== "in_progress", 200);
  assert.equal(job.status, "completed", JSON.stringify(job.printlog.timeline));
  assert.ok(!job.printlog.timeline.some((e: any) => e.event === "reopened"), JSON.stringify(job.printlog.timeline));
  assert.doesNotMatch(pl.output(), /printer\.silent|serial\.closed/);
  assert.match(pl.output(), /printlog\.stalled .*seconds=(1[2-9]|[2-9]\d)\b/, "the stall is logged");
  const all = (await http(`${pl.url}/server/history/list?limit=0`)).body.result;
  assert.equal(all.count, 1, "one job");
  const info = (await http(`${pl.url}/server/info`)).body.result;
  assert.equal(info.klippy_state, "ready");
});
