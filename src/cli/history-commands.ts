// `printlog list`, `totals` and `export`: the history in the terminal or as files. They read the
// data directory without locking it, so they work while `printlog serve` runs.

import { createWriteStream } from "node:fs";
import { resolve } from "node:path";
import { presentJob, type PresentedJob } from "../api/history-methods.js";
import { makeExistence } from "../files/gcode-dir.js";
import { HistoryStore } from "../history/store.js";
import { ALL_STATUSES, type JobRecord, type JobStatus } from "../history/types.js";
import { silentLogger } from "../log.js";
import { CONFIG_FLAGS, EXIT_OK, UsageError, configFrom, hms, parse, parseTime, table } from "./common.js";

async function openStore(values: Record<string, unknown>) {
  const config = configFrom(values);
  const store = await HistoryStore.open(resolve(config.server.dataDir), { logger: silentLogger, readOnly: true });
  return { store, exists: makeExistence(config.printer.gcodeDir, () => false) };
}

/** Writes to stdout, waiting when its buffer is full. */
function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.stdout.write(text, (e) => (e ? reject(e) : undefined))) resolve();
    else process.stdout.once("drain", resolve);
  });
}

export const LIST_HELP = `Usage: printlog list [--limit N] [--json] [--data-dir DIR] [--config FILE]

Shows the newest jobs (default 20; --limit 0 for all). --json prints exactly what
GET /server/history/list answers.
`;

export async function listCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...CONFIG_FLAGS, limit: { type: "string" }, json: { type: "boolean" } });
  if (values.help) return void process.stdout.write(LIST_HELP), EXIT_OK;
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 0) throw new UsageError(`--limit: expected a whole number, got '${values.limit}'`);
  const { store, exists } = await openStore(values);
  // One body at a time: `--limit 0` on a long history must not hold every job.
  const positions = store.select({ limit, start: 0, before: -1, since: -1, order: "DESC" });
  if (values.json) {
    // Byte for byte JSON.stringify({count, jobs}, null, 2), written job by job.
    if (positions.length === 0) return void process.stdout.write(JSON.stringify({ count: 0, jobs: [] }, null, 2) + "\n"), EXIT_OK;
    await writeOut(`{\n  "count": ${positions.length},\n  "jobs": [\n`);
    for (const [i, p] of positions.entries()) {
      const text = JSON.stringify(presentJob(store.jobAt(p)!, exists), null, 2).replace(/\n/g, "\n    ");
      await writeOut(`    ${text}${i < positions.length - 1 ? "," : ""}\n`);
    }
    await writeOut("  ]\n}\n");
    return EXIT_OK;
  }
  if (positions.length === 0) {
    process.stdout.write("no jobs recorded yet\n");
    return EXIT_OK;
  }
  const jobs = (function* () {
    for (const p of positions) yield store.jobAt(p)!;
  })();
  const rows = [["ID", "STATUS", "STARTED", "TIME", "PRINTING", "FILAMENT", "FILE"]];
  for (const j of jobs) {
    rows.push([
      j.job_id,
      j.status,
      new Date(j.start_time * 1000).toISOString().replace("T", " ").slice(0, 19),
      hms(j.total_duration),
      hms(j.print_duration),
      `${(j.filament_used / 1000).toFixed(2)} m`,
      j.filename,
    ]);
  }
  process.stdout.write(table(rows));
  return EXIT_OK;
}

export const TOTALS_HELP = `Usage: printlog totals [--json] [--data-dir DIR] [--config FILE]

Shows the job totals. --json prints exactly what GET /server/history/totals answers.
`;

export async function totalsCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...CONFIG_FLAGS, json: { type: "boolean" } });
  if (values.help) return void process.stdout.write(TOTALS_HELP), EXIT_OK;
  const { store } = await openStore(values);
  const t = store.totals();
  if (values.json) {
    process.stdout.write(JSON.stringify(t, null, 2) + "\n");
    return EXIT_OK;
  }
  const j = t.job_totals;
  const rows = [
    ["jobs", String(j.total_jobs)],
    ["total time", hms(j.total_time)],
    ["printing time", hms(j.total_print_time)],
    ["filament", `${(j.total_filament_used / 1000).toFixed(2)} m`],
    ["longest job", hms(j.longest_job)],
    ["longest print", hms(j.longest_print)],
    ...t.auxiliary_totals.map((a) => [`${a.provider} ${a.field}`, `total ${a.total ?? "-"}, maximum ${a.maximum ?? "-"}`]),
  ];
  process.stdout.write(table(rows));
  return EXIT_OK;
}

export const EXPORT_HELP = `Usage: printlog export [--format csv|json] [--output FILE] [--since T] [--before T] [--status S,...]

Exports jobs, oldest first. T is unix seconds or a date (2026-11-24, 2026-11-24T10:00:00Z);
--since keeps jobs started after T, --before jobs that ended before T (as the API's filters).
Statuses: ${[...ALL_STATUSES].join(", ")}. Progress goes to stderr when writing a file.
`;

export const CSV_COLUMNS = ["job_id", "user", "filename", "status", "start_time", "end_time", "print_duration", "total_duration", "filament_used", "metadata", "auxiliary_data"] as const;

export function csvField(value: unknown): string {
  const s = value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRow(job: PresentedJob | JobRecord): string {
  return CSV_COLUMNS.map((c) => csvField((job as unknown as Record<string, unknown>)[c])).join(",");
}

export async function exportCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...CONFIG_FLAGS,
    format: { type: "string" },
    output: { type: "string", short: "o" },
    since: { type: "string" },
    before: { type: "string" },
    status: { type: "string" },
  });
  if (values.help) return void process.stdout.write(EXPORT_HELP), EXIT_OK;
  const format = values.format ?? "csv";
  if (format !== "csv" && format !== "json") throw new UsageError(`--format: expected csv or json, got '${format}'`);
  const since = values.since === undefined ? null : parseTime("since", values.since);
  const before = values.before === undefined ? null : parseTime("before", values.before);
  const statuses = values.status === undefined ? null : new Set(values.status.split(",").map((s) => s.trim()));
  for (const s of statuses ?? []) if (!ALL_STATUSES.has(s as JobStatus)) throw new UsageError(`--status: unknown status '${s}' (use ${[...ALL_STATUSES].join(", ")})`);
  const { store, exists } = await openStore(values);
  // Selected on the index (no body read), then each body read as it is written out.
  const positions = store.select({ limit: 0, start: 0, before: before ?? -1, since: since ?? -1, order: "ASC" });
  const jobs = statuses === null ? positions : positions.filter((p) => statuses.has(store.statusAt(p)));
  const out = values.output ? createWriteStream(values.output) : process.stdout;
  const write = (text: string) => new Promise<void>((res, rej) => (out.write(text, (e) => (e ? rej(e) : res())) ? undefined : undefined));
  const progress = values.output && jobs.length > 1000;
  if (format === "csv") await write(CSV_COLUMNS.join(",") + "\n");
  else await write("[\n");
  for (const [i, pos] of jobs.entries()) {
    const p = presentJob(store.jobAt(pos)!, exists);
    await write(format === "csv" ? csvRow(p) + "\n" : (i > 0 ? ",\n" : "") + JSON.stringify(p));
    if (progress && i % Math.ceil(jobs.length / 10) === 0) process.stderr.write(`exported ${i}/${jobs.length} jobs\n`);
  }
  if (format === "json") await write("\n]\n");
  if (values.output) {
    await new Promise<void>((r) => (out as ReturnType<typeof createWriteStream>).end(() => r()));
    process.stderr.write(`exported ${jobs.length} jobs to ${values.output}\n`);
  }
  return EXIT_OK;
}
