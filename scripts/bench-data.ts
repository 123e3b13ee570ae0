// Histories for `npm run bench`: N jobs with ~1 KB of realistic metadata each, written straight
// into the store's files (format 2, or format 1 for the previous printlog), then, for the worst
// case, a journal filled by the real store to just under its compaction threshold with jobs that
// checkpoint every 30 s.

import { mkdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { JobFiles, bodyLine, encodeEntry, ENTRY_BYTES } from "../src/history/job-files.js";
import { journalHeader } from "../src/history/journal.js";
import { statusCode } from "../src/history/job-index.js";
import { encodeSnapshot } from "../src/history/snapshot-file.js";
import { HistoryStore } from "../src/history/store.js";
import { addToTotals } from "../src/history/state.js";
import { formatJobId, zeroTotals, type JobRecord } from "../src/history/types.js";
import { silentLogger } from "../src/log.js";

export const METADATA = {
  size: 4_812_345,
  modified: 1_767_000_000.5,
  uuid: "cede2a2f-41a2-4748-9b12-c55c62f367ff",
  slicer: "PrusaSlicer",
  slicer_version: "2.8.1+linux-x64",
  gcode_start_byte: 28_334,
  gcode_end_byte: 4_790_112,
  layer_count: 250,
  object_height: 50,
  estimated_time: 10_234,
  nozzle_diameter: 0.4,
  layer_height: 0.2,
  first_layer_height: 0.2,
  first_layer_extr_temp: 215,
  first_layer_bed_temp: 60,
  chamber_temp: 0,
  filament_name: "Prusament PLA Galaxy Black",
  filament_type: "PLA",
  filament_total: 12_345.67,
  filament_weight_total: 36.78,
  thumbnails: [
    { width: 32, height: 32, size: 1823, relative_path: ".thumbs/benchy_0.2mm_PLA_MK4_2h50m-32x32.png" },
    { width: 300, height: 300, size: 23_456, relative_path: ".thumbs/benchy_0.2mm_PLA_MK4_2h50m-300x300.png" },
  ],
};

export function job(n: number): JobRecord {
  const start = 1_700_000_000 + n * 3600;
  return {
    job_id: formatJobId(n),
    user: "No User",
    filename: `projects/2026/benchy_${n}_0.2mm_PLA_MK4_2h50m.gcode`,
    status: n % 7 === 0 ? "cancelled" : "completed",
    start_time: start,
    end_time: start + 3000,
    print_duration: 2900,
    total_duration: 3000,
    filament_used: 12_000,
    metadata: METADATA,
    auxiliary_data: [
      { provider: "sensor power", name: "energy", value: 0.123456, description: "Printer Power Consumption", units: "kWh" },
      { provider: "spoolman", name: "spool_ids", value: [3], description: "Spool IDs used", units: null },
    ],
    paused: false,
    progress: 1,
    filament_source: "m114",
    printer_file: `BENCHY~${n}.GCO`,
    error_message: null,
    last_checkpoint: start + 2990,
    timeline: [
      { time: start, event: "started", detail: "file opened and //action:resume (M24)" },
      { time: start + 3000, event: "completed", detail: "Done printing file" },
    ],
  };
}

/** A compacted format-2 history of `n` jobs. */
export async function makeHistory(dir: string, n: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const files = await JobFiles.create(dir, 1);
  const totals = zeroTotals();
  const BATCH = 4096;
  for (let from = 1; from <= n; from += BATCH) {
    const to = Math.min(n, from + BATCH - 1);
    const lines: Buffer[] = [];
    const entries = Buffer.allocUnsafe((to - from + 1) * ENTRY_BYTES);
    let off = files.jobsBytes;
    for (let i = from; i <= to; i++) {
      const j = job(i);
      addToTotals(totals, j);
      const line = Buffer.from(bodyLine(j));
      encodeEntry({ num: i, start: j.start_time, end: j.end_time, status: statusCode(j.status), off, len: line.length }, entries, (i - from) * ENTRY_BYTES);
      lines.push(line);
      off += line.length;
    }
    const bodies = Buffer.concat(lines);
    await files.append(bodies, entries, 0);
    files.jobsBytes += bodies.length;
    files.indexBytes += entries.length;
  }
  files.close();
  const state = { nextJobNumber: n + 1, totals, auxTotals: [], settings: {}, open: [], files: { gen: 1, jobsBytes: files.jobsBytes, indexBytes: files.indexBytes }, deadBytes: 0 };
  await writeFile(join(dir, "history.json"), encodeSnapshot({ format: 2, seq: 0, prevSeq: 0, state }) + "\n");
  await writeFile(join(dir, "history.jsonl"), journalHeader(0) + "\n");
}

/** The previous printlog's format (one JSON document), for the side-by-side figures. */
export async function makeHistoryV1(dir: string, n: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const totals = zeroTotals();
  const parts: string[] = [];
  for (let i = 1; i <= n; i++) {
    const j = job(i);
    addToTotals(totals, j);
    parts.push(JSON.stringify(j));
  }
  const state = `{"nextJobNumber":${n + 1},"jobs":[${parts.join(",")}],"totals":${JSON.stringify(totals)},"auxTotals":[],"settings":{}}`;
  await writeFile(join(dir, "history.json"), `{"version":1,"seq":0,"state":${state}}`);
}

/**
 * Records 1-hour jobs (a checkpoint every 30 s, as the recorder journals them) through the real
 * store until the journal is just under `threshold` bytes: the worst case for start-up. Returns
 * the journal's size.
 */
export async function fillJournal(dir: string, threshold: number): Promise<number> {
  const store = await HistoryStore.open(dir, { logger: silentLogger, checkpointInterval: 30, minCompactBytes: threshold });
  const path = join(dir, "history.jsonl");
  const size = async () => (await stat(path)).size;
  let t = 1_900_000_000;
  // One job's records take ~30 KB: stop when another would not fit.
  while ((await size()) < threshold - 40_000) {
    const j = await store.startJob({ filename: `long/${t}.gcode`, start_time: t, metadata: METADATA });
    for (let s = 1; s <= 120; s++) {
      await store.updateJob(j.job_id, t + s * 30, { print_duration: s * 30, total_duration: s * 30, filament_used: s * 100, progress: s / 120 });
    }
    await store.finishJob(j.job_id, "completed", t + 3601, { print_duration: 3600, total_duration: 3601, filament_used: 12_000 }, "Done printing file");
    t += 4000;
  }
  await store.close();
  return size();
}
