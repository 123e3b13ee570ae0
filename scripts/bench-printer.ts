// `npm run bench` section: what notify_status_update costs with 10 WebSocket clients subscribed
// to every object at 1 Hz, measured in process over simulated seconds (object building,
// per-connection diffs and the JSON text of each message; socket writes are not included).

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HistoryStore } from "../src/history/store.js";
import { silentLogger } from "../src/log.js";
import { PrinterService } from "../src/printer/service.js";
import { hostStats } from "../src/printer/host-stats.js";

export interface StatusBenchResult {
  clients: number;
  seconds: number;
  cpuMsPerSecond: number;
  messages: number;
  bytesPerMessage: number;
}

export async function benchStatusUpdates(clients = 10, seconds = 600): Promise<StatusBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), "printlog-bench-status-"));
  // Job updates stay in memory (no checkpoints): the history's own cost is measured elsewhere.
  const store = await HistoryStore.open(dir, { logger: silentLogger, checkpointInterval: 1e9 });
  let clock = 1_800_000_000;
  const job = await store.startJob({ filename: "benchy_0.2mm_PLA.gcode", start_time: clock, metadata: { size: 240_000 } });
  const pending: Promise<void>[] = [];
  let messages = 0;
  let bytes = 0;
  const printer = new PrinterService({
    device: "/dev/ttyBENCH",
    store,
    notify: () => undefined,
    sendTo: (_id, method, params) => {
      bytes += JSON.stringify({ jsonrpc: "2.0", method, params }).length;
      messages += 1;
      return true;
    },
    connected: () => true,
    send: null,
    host: hostStats,
    softwareVersion: "bench",
    now: () => clock,
    mono: () => clock - 1_800_000_000,
  });
  printer.linkOpened("/dev/ttyBENCH", 115200);
  printer.line("FIRMWARE_NAME:Marlin 2.1.2.1 (bench) EXTRUDER_COUNT:1");
  printer.line("ok");
  const all = Object.fromEntries(printer.objectsList().map((o) => [o, null]));
  for (let id = 1; id <= clients; id++) printer.subscribe(id, all);
  const second = (i: number) => {
    clock += 1;
    // What a printing printer says in a second: an autoreport and an SD position.
    printer.line(` T:${(209 + (i % 3) * 0.5).toFixed(2)} /210.00 B:${(60 + (i % 2) * 0.1).toFixed(2)} /60.00 @:${40 + (i % 5)} B@:${i % 2 ? 10 : 0}`);
    printer.line(`SD printing byte ${i * 400}/240000`);
    pending.push(store.updateJob(job.job_id, clock, { total_duration: i, print_duration: i, progress: (i * 400) / 240_000, filament_used: i * 7 }));
    printer.tick();
  };
  for (let i = 0; i < 60; i++) second(i); // warm-up
  messages = 0;
  bytes = 0;
  const before = process.cpuUsage();
  for (let i = 60; i < 60 + seconds; i++) second(i);
  const used = process.cpuUsage(before);
  await Promise.all(pending);
  await store.close();
  await rm(dir, { recursive: true, force: true });
  return { clients, seconds, cpuMsPerSecond: (used.user + used.system) / 1000 / seconds, messages, bytesPerMessage: messages ? bytes / messages : 0 };
}
