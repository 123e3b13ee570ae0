// The whole-system crash check: the virtual printer prints job after job (some paused, some
// cancelled) while the real `printlog serve` is SIGKILLed at random moments and restarted.
// After every kill the history on disk must open, keep every finished job unaltered, have at
// most one open job, no duplicate ids, and totals equal to the sum over finished jobs.

import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { HistoryStore } from "../src/history/store.js";
import { FINISH_STATUSES, type JobRecord } from "../src/history/types.js";
import { silentLogger } from "../src/log.js";
import { VirtualPrinter, type VpFile } from "./virtual-printer.js";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "cli", "main.js");
/** Statuses no later run may change (the others can be re-adopted while the print goes on). */
const SETTLED = new Set(["completed", "cancelled", "error", "klippy_shutdown"]);
const FILES: VpFile[] = [
  { sfn: "A~1.GCO", long: "a.gcode", size: 40_000, filament: 600 },
  { sfn: "B~1.GCO", long: "b.gcode", size: 80_000, filament: 1200 },
  { sfn: "C~1.GCO", long: "c.gcode", size: 120_000, filament: 2000 },
];

export interface PrinterCrashReport {
  rounds: number;
  printsStarted: number;
  jobs: number;
  settled: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startPrintlog(config: string): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [CLI, "serve", "--config", config], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /serving the history API on (\S+)/.exec(out);
      if (m) resolve({ proc, url: m[1]! });
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    proc.once("exit", (code) => reject(new Error(`printlog exited (${code}) before serving:\n${out}`)));
  });
}

/**
 * Waits until the running printlog reports a settled job that is not in `known`, or `ms` pass.
 * Every fourth round waits for one, then kills within a second, so that every run checks
 * finished jobs across later kills however slow the machine is; the others kill at a random
 * moment.
 */
async function untilNewSettledJob(url: string, known: ReadonlyMap<string, JobRecord>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/server/history/list?limit=5`);
      const body = (await res.json()) as { result?: { jobs?: JobRecord[] } };
      if ((body.result?.jobs ?? []).some((j) => SETTLED.has(j.status) && !known.has(j.job_id))) return;
    } catch {
      // not answering yet: try again
    }
    await sleep(200);
  }
}

function check(jobs: readonly JobRecord[], settled: Map<string, JobRecord>, totals: { total_jobs: number; total_time: number }, round: number): void {
  const ids = new Set<string>();
  let open = 0;
  for (const j of jobs) {
    if (ids.has(j.job_id)) throw new Error(`round ${round}: duplicate job id ${j.job_id}`);
    ids.add(j.job_id);
    if (j.status === "in_progress") open += 1;
  }
  if (open > 1) throw new Error(`round ${round}: ${open} jobs in progress`);
  for (const [id, before] of settled) {
    const now = jobs.find((j) => j.job_id === id);
    if (!now) throw new Error(`round ${round}: finished job ${id} is missing`);
    for (const k of ["status", "end_time", "total_duration", "print_duration", "filament_used", "filename"] as const) {
      if (now[k] !== before[k]) throw new Error(`round ${round}: job ${id} ${k} changed: ${String(before[k])} -> ${String(now[k])}`);
    }
  }
  let count = 0;
  let time = 0;
  for (const j of jobs) {
    if (!FINISH_STATUSES.has(j.status as never)) continue;
    count += 1;
    time += j.total_duration;
  }
  if (totals.total_jobs !== count || Math.abs(totals.total_time - time) > 1e-6 * Math.max(1, time)) {
    throw new Error(`round ${round}: totals ${JSON.stringify(totals)} differ from the sum over finished jobs (${count} jobs, ${time} s)`);
  }
}

export async function printerCrashRounds(dir: string, rounds: number, seed = 1, onRound?: (i: number) => void): Promise<PrinterCrashReport> {
  let rng = seed >>> 0 || 1;
  const rand = () => {
    rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0;
    return rng / 4294967296;
  };
  const link = join(dir, "printer");
  const config = join(dir, "printlog.cfg");
  await writeFile(config, `[server]\nhost: 127.0.0.1\nport: 0\ndata_dir: ${join(dir, "data")}\nlog_level: warn\n[printer]\ndevice: ${link}\npoll_printing_seconds: 1\npoll_idle_seconds: 2\ncommand_timeout_seconds: 5\n`);
  const vp = new VirtualPrinter({ link, dialect: "marlin2_host", printSeconds: 2, files: FILES });
  await vp.plug();
  let printsStarted = 0;
  let stopPrinting = false;
  // The printer's "user": prints back to back, sometimes pausing or cancelling.
  const user = (async () => {
    while (!stopPrinting) {
      if (!vp.printing) {
        vp.startPrint(FILES[Math.floor(rand() * FILES.length)]!.sfn);
        printsStarted += 1;
        const r = rand();
        if (r < 0.2) {
          await sleep(600);
          vp.pause();
          await sleep(500);
          vp.resume();
        } else if (r < 0.35) {
          await sleep(700);
          vp.cancel();
        }
      }
      await sleep(150);
    }
  })();
  const settled = new Map<string, JobRecord>();
  let jobs = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      const { proc, url } = await startPrintlog(config);
      if (round % 4 === 1) {
        await untilNewSettledJob(url, settled, 20_000);
        await sleep(Math.floor(rand() * 1000));
      } else {
        await sleep(300 + Math.floor(rand() * 2400));
      }
      await new Promise<void>((resolve) => {
        proc.once("exit", () => resolve());
        proc.kill("SIGKILL");
      });
      const store = await HistoryStore.open(join(dir, "data"), { logger: silentLogger, readOnly: true });
      check(store.jobs, settled, store.totals().job_totals, round);
      for (const j of store.jobs) if (SETTLED.has(j.status) && !settled.has(j.job_id)) settled.set(j.job_id, { ...j });
      jobs = store.jobs.length;
      onRound?.(round);
    }
  } finally {
    stopPrinting = true;
    await user;
    await vp.close();
  }
  return { rounds, printsStarted, jobs, settled: settled.size };
}
