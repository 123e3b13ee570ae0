// `printlog replay`: rebuilds history from a serial log through the same reducer and store as
// live recording, on the log's own clock. Formats: OctoPrint's serial.log
// (`2019-08-19 21:24:57,294 - Recv: …` / `- Send: …`) and `<unix seconds> <dir> <line>` where
// <dir> is `<` or `|` for a received line and `>` for a sent one.

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { EventEmitter } from "node:events";
import { createInterface } from "node:readline";
import type { HistoryStore } from "../history/store.js";
import type { Logger } from "../log.js";
import type { LineSource, PrinterLinkEvents } from "../serial/link.js";
import { Recorder, type RecorderOptions } from "./recorder.js";

export interface ReplayLine {
  time: number;
  received: boolean;
  text: string;
}

const OCTO = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}),(\d{3}) - (Recv|Send): ?(.*)$/;
const PLAIN = /^(\d+(?:\.\d+)?) ([<|>]) ?(.*)$/;

/** Parses one log line; null for lines that are neither (OctoPrint's state messages etc.). */
export function parseLogLine(line: string): ReplayLine | null {
  let m = OCTO.exec(line);
  if (m) {
    // OctoPrint logs local time without a zone; it is read as UTC so a replay is deterministic.
    const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!) / 1000;
    return { time: t, received: m[8] === "Recv", text: m[9]! };
  }
  m = PLAIN.exec(line);
  if (m) return { time: Number(m[1]), received: m[2] !== ">", text: m[3]! };
  return null;
}

/** A line source that never sends: the log already holds what the printer answered. */
class ReplaySource extends EventEmitter<PrinterLinkEvents> implements LineSource {
  readonly isOpen = false;
  readonly busy = false;
  lastLineAt = 0;
  start(): void {}
  async stop(): Promise<void> {}
  async send(): Promise<boolean> {
    return false;
  }
  nextBaud(): void {}
  reconnect(): void {}
  abandonPending(): void {}
  strictAnswers = false;
}

export interface ReplaySummary {
  lines: number;
  received: number;
  jobs: { job_id: string; filename: string; status: string; start_time: number; total_duration: number }[];
}

export async function replayLog(
  file: string,
  store: HistoryStore,
  logger: Logger,
  opts: RecorderOptions,
  onProgress?: (bytes: number, total: number) => void,
): Promise<ReplaySummary> {
  const total = (await stat(file)).size;
  let clock = 0;
  const source = new ReplaySource();
  const recorder = new Recorder(source, store, logger, opts, () => clock);
  const before = new Set(store.jobs.map((j) => j.job_id));
  const stream = createReadStream(file, { encoding: "utf8", highWaterMark: 256 * 1024 });
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let lines = 0;
  let received = 0;
  let lastTick = -Infinity;
  let lastReport = 0;
  for await (const raw of rl) {
    lines += 1;
    const entry = parseLogLine(raw.length > 4096 ? raw.slice(0, 4096) : raw);
    if (!entry) continue;
    clock = entry.time;
    if (clock - lastTick >= 1) {
      recorder.input({ type: "tick" }, clock);
      lastTick = clock;
    }
    if (!entry.received) {
      // What the host sent is evidence too: M23/M24/M25/M524/M112 select, start or resume,
      // pause, cancel and halt; M26 S0 while paused is OctoPrint's SD cancel (live recording
      // never sees another host's commands).
      if (/^(?:N\d+\s+)?M(?:23|24|25|26|524|112)\b/i.test(entry.text)) recorder.input({ type: "host_sent", command: entry.text }, clock);
      continue;
    }
    received += 1;
    recorder.onLine(entry.text, clock);
    if (received % 2000 === 0) await recorder.settled();
    if (onProgress && stream.bytesRead - lastReport > total / 20) {
      lastReport = stream.bytesRead;
      onProgress(stream.bytesRead, total);
    }
  }
  recorder.input({ type: "tick" }, clock + 5);
  await recorder.settled();
  await store.interruptOpen(clock);
  const jobs = store.jobs
    .filter((j) => !before.has(j.job_id))
    .map((j) => ({ job_id: j.job_id, filename: j.filename, status: j.status, start_time: j.start_time, total_duration: j.total_duration }));
  return { lines, received, jobs };
}
