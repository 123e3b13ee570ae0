// The history API part of `npm run bench`: printlog started as deployed (its Node flags from
// deploy/node-flags.env), its memory read from /proc, and the list, deep page, get_job, totals
// and limit=0 requests measured against one history directory.

import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import autocannon from "autocannon";
import WebSocket from "ws";
import { formatJobId } from "../src/history/types.js";
import { deployedNodeFlags } from "./node-flags.js";

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, "..", "..");
export const CLI = join(ROOT, "dist", "src", "cli", "main.js");

export interface Served {
  url: string;
  pid: number;
  /** From spawning `printlog serve` to its first successful answer. */
  startupMs: number;
  stop: () => Promise<void>;
}

/** Node's flags as deployed (deploy/node-flags.env, which the units and `npm start` read too). */
export const SERVICE_FLAGS = deployedNodeFlags(ROOT);

export async function serve(dir: string, cli = CLI, nodeFlags?: string[]): Promise<Served> {
  const t0 = performance.now();
  // The previous printlog (a baseline) ran without flags, as it was deployed then.
  const flags = nodeFlags ?? (cli === CLI ? SERVICE_FLAGS : []);
  const proc = spawn(process.execPath, [...flags, cli, "serve", "--device", "none", "--host", "127.0.0.1", "--http-port", "0", "--data-dir", dir, "--log-level", "warn"], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = "";
    proc.stdout!.on("data", (d) => {
      buf += d;
      const m = /serving the history API on (\S+)/.exec(buf);
      if (m) resolve(m[1]!);
    });
    proc.on("exit", (c) => reject(new Error(`serve exited ${c}`)));
  });
  const first = await fetch(`${url}/server/history/list?limit=1`);
  await first.arrayBuffer();
  const startupMs = performance.now() - t0;
  return {
    url,
    pid: proc.pid!,
    startupMs,
    stop: () =>
      new Promise((r) => {
        proc.once("exit", () => r());
        proc.kill("SIGTERM");
      }),
  };
}

export async function procStatus(pid: number, field: "VmRSS" | "VmHWM" | "RssAnon" | "RssFile"): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]) / 1024;
}

export const rssMb = (pid: number) => procStatus(pid, "VmRSS");

/** CPU seconds (user + system) the process has used. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
  return (Number(stat[11]) + Number(stat[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** Peak RSS of one request: the kernel's high-water mark, reset first (clear_refs 5). */
async function peakDuring(pid: number, fn: () => Promise<void>): Promise<number> {
  let reset = true;
  await writeFile(`/proc/${pid}/clear_refs`, "5").catch(() => (reset = false));
  let sampled = 0;
  const timer = setInterval(() => void rssMb(pid).then((r) => (sampled = Math.max(sampled, r)), () => undefined), 5);
  await fn();
  clearInterval(timer);
  return reset ? procStatus(pid, "VmHWM") : sampled;
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU per request, microseconds (during the 8-connection run). */
  cpuUs: number;
}

/** Throughput and CPU with 8 connections; latency with one (so it is the request's, not the queue's). */
async function load(url: string, pid: number, seconds = 3): Promise<Load> {
  const c0 = await cpuSeconds(pid);
  const r = await autocannon({ url, connections: 8, duration: seconds });
  const cpu = (await cpuSeconds(pid)) - c0;
  const l = await autocannon({ url, connections: 1, duration: seconds });
  for (const x of [r, l]) if (x.errors > 0 || x.non2xx > 0) throw new Error(`${url}: ${x.errors} errors, ${x.non2xx} non-2xx`);
  return { rps: r.requests.average, p50: l.latency.p50, p99: l.latency.p99, cpuUs: (cpu / Math.max(1, r.requests.total)) * 1e6 };
}

export interface SizeResult {
  n: number;
  startupMs: number;
  rss: number;
  /** After 10 s idle: V8's memory reducer runs about 8 s after activity stops. */
  rssSettled: number;
  rssLoaded: number;
  rssLoadedSettled: number;
  list: Load;
  deep: Load;
  get: Load;
  totals: Load;
  allMs: number | null;
  allMiB: number | null;
  allPeak: number | null;
  /** limit=0 as one JSON-RPC message over the WebSocket (fragments): time, peak RSS. */
  wsAllMs: number | null;
  wsAllPeak: number | null;
  journalKiB: number;
}

/** Serves `dir` and measures it: start-up, RSS, the four requests, RSS after them, limit=0. */
export async function measure(dir: string, n: number, opts: { cli?: string; all: boolean; journalKiB: number }): Promise<SizeResult> {
  const s = await serve(dir, opts.cli);
  try {
    const rss = await rssMb(s.pid);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const rssSettled = await rssMb(s.pid);
    // limit=0 first, on the fresh process, so its peak is the streaming's own.
    let allMs: number | null = null;
    let allMiB: number | null = null;
    let allPeak: number | null = null;
    if (opts.all) {
      const t = performance.now();
      allPeak = await peakDuring(s.pid, async () => {
        const res = await fetch(`${s.url}/server/history/list?limit=0`);
        let bytes = 0;
        for await (const chunk of res.body!) bytes += (chunk as Uint8Array).byteLength;
        allMiB = bytes / 2 ** 20;
      });
      allMs = performance.now() - t;
    }
    // The same list as one JSON-RPC message over the WebSocket (sent in fragments).
    let wsAllMs: number | null = null;
    let wsAllPeak: number | null = null;
    if (opts.all && !opts.cli) {
      const t = performance.now();
      wsAllPeak = await peakDuring(s.pid, async () => {
        const ws = new WebSocket(s.url.replace("http", "ws") + "/websocket", { maxPayload: 4 * 2 ** 30 });
        await new Promise((r, j) => ws.once("open", r).once("error", j));
        const jobs = await new Promise<number>((resolve, reject) => {
          ws.on("message", (d) => {
            const text = d.toString();
            if (!text.endsWith(',"id":1}')) return;
            const { result } = JSON.parse(text) as { result: { count: number; jobs: unknown[] } };
            resolve(result.count === result.jobs.length ? result.jobs.length : -1);
          });
          ws.once("error", reject);
          ws.send(JSON.stringify({ jsonrpc: "2.0", method: "server.history.list", params: { limit: 0 }, id: 1 }));
        });
        ws.close();
        // The history holds n jobs plus the journal's; every one announced must have arrived.
        if (jobs < n) throw new Error(`WebSocket limit=0: ${jobs} jobs (count and list disagree, or fewer than ${n})`);
      });
      wsAllMs = performance.now() - t;
    }
    const list = await load(`${s.url}/server/history/list?limit=50`, s.pid);
    const deep = await load(`${s.url}/server/history/list?limit=50&start=${Math.floor(n * 0.9)}`, s.pid);
    const get = await load(`${s.url}/server/history/job?uid=${formatJobId(Math.ceil(n / 2))}`, s.pid);
    const totals = await load(`${s.url}/server/history/totals`, s.pid);
    const rssLoaded = await rssMb(s.pid);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const rssLoadedSettled = await rssMb(s.pid);
    return { n, startupMs: s.startupMs, rss, rssSettled, rssLoaded, rssLoadedSettled, list, deep, get, totals, allMs, allMiB, allPeak, wsAllMs, wsAllPeak, journalKiB: opts.journalKiB };
  } finally {
    await s.stop();
  }
}

/** How long "settled" waits without requests: past V8's memory reducer (about 8 s after activity). */
export const SETTLE_MS = 10_000;
