// Shared plumbing for the end-to-end tests of behaviour seen on the real Marlin 2.1.2.1: the real
// printlog process, the virtual printer on a real pseudo-terminal, checks through the HTTP API.

import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { VirtualPrinter, type VpFile, type VpOptions } from "../../scripts/virtual-printer.js";
import { http, sleep, startCli, tempDir, type RunningProcess } from "../helpers.js";

export interface Rig {
  vp: VirtualPrinter;
  pl: RunningProcess;
  dir: string;
  config: string;
  gcodeDir: string;
  restart(signal: NodeJS.Signals): Promise<void>;
  url(): string;
  /** Waits until the most recent job satisfies pred (the log is in the error otherwise). */
  waitJob(pred: (job: any) => boolean, what: string, timeoutMs?: number): Promise<any>;
  job(id: string): Promise<any>;
  /** Waits until the job's SD position has risen (past the start G-code's heat-up), then a bit. */
  printing(id: string, thenMs?: number): Promise<void>;
  jobs(): Promise<any[]>;
  /** Waits until the card listing (every page and folder of it) is over: no `M20` for a while. */
  listed(): Promise<void>;
}

export interface RigOptions {
  /** Whether printlog is given `gcode_dir` (the default); without it, dates come from the card. */
  gcodeDir?: boolean;
}

export async function rig(t: TestContext, vpOpts: Omit<VpOptions, "link">, localFiles: VpFile[] = [], commandTimeout = 5, opts: RigOptions = {}): Promise<Rig> {
  const dir = await tempDir(t);
  const link = join(dir, "printer");
  const config = join(dir, "printlog.cfg");
  const gcodeDir = join(dir, "gcodes");
  await mkdir(gcodeDir);
  // The user's copies of the card's files, under their full names and with the same sizes.
  for (const f of localFiles) await writeFile(join(gcodeDir, f.long), Buffer.alloc(f.size, 0x3b));
  await writeFile(
    config,
    [
      "[printer]",
      `device: ${link}`,
      "poll_printing_seconds: 1",
      "poll_idle_seconds: 2",
      `command_timeout_seconds: ${commandTimeout}`,
      ...(opts.gcodeDir === false ? [] : [`gcode_dir: ${gcodeDir}`]),
      "",
      "[server]",
      "host: 127.0.0.1",
      "port: 0",
      `data_dir: ${join(dir, "data")}`,
      "",
    ].join("\n"),
  );
  let earlier = "";
  const vp = new VirtualPrinter({ link, ...vpOpts });
  await vp.plug();
  const r: Rig = {
    vp,
    pl: await startCli(["serve", "--config", config]),
    dir,
    config,
    gcodeDir,
    async restart(signal) {
      earlier += r.pl.output();
      await r.pl.stop(signal);
      r.pl = await startCli(["serve", "--config", config]);
      await r.pl.waitFor(/printer\.watching/, 15_000);
    },
    url: () => r.pl.url,
    async waitJob(pred, what, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      let last: any = null;
      while (Date.now() < until) {
        last = (await http(`${r.url()}/server/history/list?limit=1`)).body?.result?.jobs?.[0];
        if (last && pred(last)) return last;
        await sleep(200);
      }
      const log = r.pl.output().split("\n").filter((l) => !/serial\.timeout/.test(l)).slice(-30).join("\n");
      throw new Error(`timed out waiting for ${what}; last job: ${JSON.stringify(last)}\nprintlog's log:\n${log}`);
    },
    async printing(id, thenMs = 1500) {
      await r.waitJob((j) => j.job_id === id && (j.printlog.progress ?? 0) > 0, "the print to progress");
      await sleep(thenMs);
    },
    async job(id) {
      return (await http(`${r.url()}/server/history/job?uid=${id}`)).body.result.job;
    },
    async jobs() {
      return (await http(`${r.url()}/server/history/list?limit=0`)).body.result.jobs;
    },
    async listed() {
      const count = () => vp.received.filter((c) => c.startsWith("M20")).length;
      const until = Date.now() + 60_000;
      let seen = -1;
      while (Date.now() < until) {
        const n = count();
        if (n > 0 && n === seen) return;
        seen = n;
        await sleep(1500);
      }
      throw new Error(`the card listing did not end: ${vp.received.filter((c) => c.startsWith("M20")).join(", ")}`);
    },
  };
  t.after(async () => {
    if (process.env["DUMP_LOG"]) await writeFile(`${process.env["DUMP_LOG"]}.${process.pid}.${Date.now()}.log`, earlier + r.pl.output());
    await r.pl.stop("SIGKILL");
    await vp.close();
  });
  await r.pl.waitFor(/printer\.watching/, 15_000);
  await sleep(1500); // the card listing after the handshake
  return r;
}

export function near(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual.toFixed(2)} vs expected ${expected.toFixed(2)} (±${tolerance})`);
}

/** Filament within 2 % of what the printer extruded (10 mm floor for M78's resolution). */
export function nearFilament(actual: number, extruded: number, what: string): void {
  near(actual, extruded, Math.max(0.02 * extruded, 10), what);
}
