// A print farm on one machine: N printlog processes, each with its own virtual printer on a real
// pseudo-terminal, one Mosquitto, one subscriber on `+/printlog/last_job` that must receive every
// job of every printer exactly once with the right status. Used by test/mqtt/farm.test.ts (10
// printers) and runnable at larger counts:
//   node dist/scripts/farm.js --printers 30 --jobs 3

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { VirtualPrinter } from "./virtual-printer.js";
import { Broker, Watcher, mqttSection } from "./mqtt-broker.js";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "cli", "main.js");

export interface FarmOptions {
  printers: number;
  jobsPerPrinter: number;
  /** Seconds a (60 kB) job prints for. */
  printSeconds: number;
  log?: (line: string) => void;
}

export interface FarmJob {
  instance: string;
  job_id: string;
  expected: "completed" | "cancelled";
  /** When the virtual printer ended the job (Done printing file / cancel), ms since the epoch. */
  endedAt: number;
}

export interface FarmResult {
  jobs: FarmJob[];
  /** Every last_job message the subscriber received, in arrival order. */
  received: { instance: string; job_id: string; status: string; at: number }[];
  /** Problems found: missing, duplicated or wrong-status jobs. Empty when the farm worked. */
  problems: string[];
  /** `Done printing file` on the printer -> received by the subscriber, ms, per completed job. */
  latenciesMs: number[];
}

interface Instance {
  name: string;
  vp: VirtualPrinter;
  proc: ChildProcess;
  output: () => string;
}

function waitOutput(proc: ChildProcess, out: () => string, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (pattern.test(out())) {
        clearInterval(timer);
        clearTimeout(limit);
        resolve();
      } else if (proc.exitCode !== null) {
        clearInterval(timer);
        clearTimeout(limit);
        reject(new Error(`printlog exited before ${pattern}:\n${out()}`));
      }
    }, 50);
    const limit = setTimeout(() => {
      clearInterval(timer);
      reject(new Error(`timed out waiting for ${pattern}:\n${out().slice(-3000)}`));
    }, timeoutMs);
  });
}

async function startInstance(dir: string, name: string, broker: Broker, printSeconds: number): Promise<Instance> {
  const link = join(dir, `${name}.tty`);
  const cfg = join(dir, `${name}.cfg`);
  await writeFile(cfg, [
    "[server]", "host: 127.0.0.1", "port: 0", `data_dir: ${join(dir, name)}`,
    "[printer]", `device: ${link}`, "poll_printing_seconds: 1", "poll_idle_seconds: 2", "command_timeout_seconds: 5",
    mqttSection(broker.port, name),
  ].join("\n"));
  const vp = new VirtualPrinter({ link, dialect: "marlin2_host", printSeconds });
  await vp.plug();
  const proc = spawn(process.execPath, [CLI, "serve", "--config", cfg], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  proc.stderr!.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  return { name, vp, proc, output: () => out };
}

export async function runFarm(o: FarmOptions): Promise<FarmResult> {
  const log = o.log ?? (() => undefined);
  const dir = await mkdtemp(join(tmpdir(), "printlog-farm-"));
  const broker = await Broker.start();
  const instances: Instance[] = [];
  const watcher = await Watcher.connect(broker.url, ["+/printlog/last_job", "+/moonraker/api/notification"]);
  try {
    for (let i = 0; i < o.printers; i++) instances.push(await startInstance(dir, `farm-${String(i + 1).padStart(3, "0")}`, broker, o.printSeconds));
    await Promise.all(instances.map((p) => waitOutput(p.proc, p.output, /mqtt\.connected/, 60_000).then(() => waitOutput(p.proc, p.output, /printer\.watching/, 60_000))));
    log(`${o.printers} printlog instances connected to the printer and the broker`);
    const jobs: FarmJob[] = [];
    const startedCount = (name: string) =>
      watcher.messages.filter((m) => m.topic === `${name}/moonraker/api/notification` && m.json?.method === "notify_history_changed" && m.json.params[0].action === "added").length;
    await Promise.all(
      instances.map(async (p, i) => {
        for (let k = 0; k < o.jobsPerPrinter; k++) {
          const expected = (i + k) % 2 === 0 ? "completed" : "cancelled";
          const before = startedCount(p.name);
          p.vp.startPrint("CUBE~1.GCO");
          const added = await watcher.until(() => startedCount(p.name) > before, `${p.name} job ${k + 1} to start`, 60_000);
          const note = added.filter((m) => m.topic === `${p.name}/moonraker/api/notification` && m.json?.params?.[0]?.action === "added").at(-1)!;
          const jobId: string = note.json.params[0].job.job_id;
          if (expected === "cancelled") {
            await new Promise((r) => setTimeout(r, 500));
            p.vp.cancel();
          }
          await watcher.until((all) => all.some((m) => m.topic === `${p.name}/printlog/last_job` && m.json?.job?.job_id === jobId), `${p.name} job ${jobId} to be published`, 60_000);
          jobs.push({ instance: p.name, job_id: jobId, expected, endedAt: p.vp.timing.endedAt * 1000 });
        }
      }),
    );
    // Room for a duplicate to arrive before counting.
    await new Promise((r) => setTimeout(r, 1500));
    const received = watcher.messages
      .filter((m) => m.topic.endsWith("/printlog/last_job"))
      .map((m) => ({ instance: m.topic.split("/")[0]!, job_id: String(m.json?.job?.job_id), status: String(m.json?.job?.status), at: m.at }));
    const problems: string[] = [];
    const latenciesMs: number[] = [];
    for (const j of jobs) {
      const got = received.filter((r) => r.instance === j.instance && r.job_id === j.job_id);
      if (got.length !== 1) problems.push(`${j.instance} job ${j.job_id}: received ${got.length} times`);
      else if (got[0]!.status !== j.expected) problems.push(`${j.instance} job ${j.job_id}: status ${got[0]!.status}, expected ${j.expected}`);
      else if (j.expected === "completed") latenciesMs.push(got[0]!.at - j.endedAt);
    }
    for (const r of received) if (!jobs.some((j) => j.instance === r.instance && j.job_id === r.job_id)) problems.push(`unexpected job ${r.instance} ${r.job_id} (${r.status})`);
    return { jobs, received, problems, latenciesMs };
  } finally {
    await watcher.close();
    await Promise.all(
      instances.map(async (p) => {
        if (p.proc.exitCode === null) {
          const exited = new Promise((r) => p.proc.once("exit", r));
          p.proc.kill("SIGTERM");
          await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
          if (p.proc.exitCode === null) p.proc.kill("SIGKILL");
        }
        await p.vp.close();
      }),
    );
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<void> {
  const get = (name: string, def: string) => {
    const i = argv.indexOf(`--${name}`);
    return i === -1 ? def : (argv[i + 1] ?? def);
  };
  const printers = Number(get("printers", "30"));
  const jobs = Number(get("jobs", "3"));
  const started = Date.now();
  const r = await runFarm({ printers, jobsPerPrinter: jobs, printSeconds: Number(get("seconds", "3")), log: (l) => console.log(l) });
  const lat = [...r.latenciesMs].sort((a, b) => a - b);
  const q = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(0) : "-");
  console.log(`${r.jobs.length} jobs on ${printers} printers in ${((Date.now() - started) / 1000).toFixed(1)} s; received ${r.received.length}`);
  console.log(`Done printing file -> subscriber: p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${q(0.9999)} ms`);
  if (r.problems.length) {
    console.log(`PROBLEMS:\n${r.problems.join("\n")}`);
    process.exitCode = 1;
  } else console.log("every job of every printer received exactly once with the right status");
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, "/"))) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
