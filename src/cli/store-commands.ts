// `printlog backup DEST` (a consistent copy of a live data directory) and `printlog import FILE`
// (restores what `printlog export --format json` wrote, ids kept, duplicates refused).

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { backupDataDir } from "../history/backup.js";
import { HistoryStore } from "../history/store.js";
import { ALL_STATUSES, parseJobId, type JobRecord, type JobStatus } from "../history/types.js";
import { silentLogger } from "../log.js";
import { CONFIG_FLAGS, EXIT_OK, UsageError, configFrom, parse } from "./common.js";

export const BACKUP_HELP = `Usage: printlog backup DEST [--data-dir DIR] [--config FILE]

Copies the history and the database into DEST (a new or empty directory), consistently, also
while 'printlog serve' runs. To restore: stop printlog and use DEST as the data directory (or
copy its files into an empty one).
`;

export async function backupCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...CONFIG_FLAGS }, true);
  if (values.help) return void process.stdout.write(BACKUP_HELP), EXIT_OK;
  if (positionals.length !== 1) throw new UsageError(`backup needs exactly one destination directory\n\n${BACKUP_HELP}`);
  const dir = resolve(configFrom(values).server.dataDir);
  const dest = resolve(positionals[0]!);
  const copied = await backupDataDir(dir, dest);
  // Prove the copy: open it as printlog would (read-only), every checksum verified on the way.
  const check = await HistoryStore.open(dest, { logger: silentLogger, readOnly: true });
  const jobs = check.count;
  for (let p = 0; p < jobs; p++) check.jobAt(p);
  const totals = check.totals().job_totals.total_jobs;
  await check.close();
  const bytes = copied.reduce((n, c) => n + c.bytes, 0);
  process.stdout.write(`backed up ${jobs} jobs (totals: ${totals} finished) and the database to ${dest} (${copied.flatMap((c) => c.files).join(", ")}; ${bytes} bytes)\n`);
  return EXIT_OK;
}

export const IMPORT_HELP = `Usage: printlog import FILE [--data-dir DIR] [--config FILE]

Adds the jobs of FILE (what 'printlog export --format json' writes) to the history, with their
ids; finished jobs count in the totals, and a job that was running is imported as interrupted.
Refuses, importing nothing, when any id is already in the history. printlog must not be running.
`;

const FIELDS = ["job_id", "user", "filename", "status", "start_time", "end_time", "print_duration", "total_duration", "filament_used", "metadata", "auxiliary_data"] as const;

/** An exported job back to a stored record; throws UsageError naming the item when it is not one. */
export function importedJob(value: unknown, where: string): JobRecord {
  const bad = (why: string): never => {
    throw new UsageError(`${where}: ${why}`);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) return bad("not a job object");
  const o = value as Record<string, unknown>;
  for (const f of FIELDS) if (!(f in o)) bad(`missing '${f}'`);
  const num = typeof o["job_id"] === "string" ? parseJobId(o["job_id"]) : null;
  if (num === null || num < 1 || num > 0xffffffff) bad(`job_id ${JSON.stringify(o["job_id"])} is not a job id`);
  if (typeof o["status"] !== "string" || !ALL_STATUSES.has(o["status"] as JobStatus)) bad(`unknown status ${JSON.stringify(o["status"])}`);
  const num_ = (k: string) => (typeof o[k] === "number" && Number.isFinite(o[k]) ? (o[k] as number) : bad(`'${k}' is not a number`));
  const str = (k: string) => (typeof o[k] === "string" ? (o[k] as string) : bad(`'${k}' is not a string`));
  const end = o["end_time"] === null ? null : num_("end_time");
  if (typeof o["metadata"] !== "object" || o["metadata"] === null || Array.isArray(o["metadata"])) bad("'metadata' is not an object");
  if (!Array.isArray(o["auxiliary_data"])) bad("'auxiliary_data' is not a list");
  const extra = (typeof o["printlog"] === "object" && o["printlog"] !== null ? o["printlog"] : {}) as Record<string, unknown>;
  const status = o["status"] as JobStatus;
  return {
    job_id: num!.toString(16).toUpperCase().padStart(6, "0"),
    user: str("user"),
    filename: str("filename"),
    // A job running when exported is not running now.
    status: status === "in_progress" ? "interrupted" : status,
    start_time: num_("start_time"),
    end_time: end,
    print_duration: num_("print_duration"),
    total_duration: num_("total_duration"),
    filament_used: num_("filament_used"),
    metadata: o["metadata"] as Record<string, unknown>,
    auxiliary_data: o["auxiliary_data"] as JobRecord["auxiliary_data"],
    paused: false,
    progress: typeof extra["progress"] === "number" ? extra["progress"] : null,
    filament_source: typeof extra["filament_source"] === "string" ? extra["filament_source"] : null,
    printer_file: typeof extra["printer_file"] === "string" ? extra["printer_file"] : null,
    error_message: typeof extra["error_message"] === "string" ? extra["error_message"] : null,
    last_checkpoint: typeof extra["last_checkpoint"] === "number" ? extra["last_checkpoint"] : null,
    timeline: Array.isArray(extra["timeline"]) ? (extra["timeline"] as JobRecord["timeline"]) : [],
  };
}

/**
 * The jobs of an export, one at a time: the export writes one job per line, so any size streams;
 * a file laid out otherwise (re-indented by a tool) is parsed whole.
 */
async function* exportedJobs(file: string): AsyncGenerator<JobRecord> {
  const rl = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity });
  let lineNo = 0;
  let opened = false;
  let closed = false;
  let whole: string[] | null = null;
  for await (const raw of rl) {
    lineNo += 1;
    if (whole) {
      whole.push(raw);
      continue;
    }
    const line = raw.trim();
    if (line.length === 0) continue;
    if (!opened) {
      if (line !== "[") whole = [raw];
      opened = true;
      if (line === "[]") closed = true;
      continue;
    }
    if (closed) throw new UsageError(`${file}:${lineNo}: text after the end of the list`);
    if (line === "]") {
      closed = true;
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(line.endsWith(",") ? line.slice(0, -1) : line);
    } catch {
      whole = []; // not one job per line: parse the whole file instead
      break;
    }
    yield importedJob(value, `${file}:${lineNo}`);
  }
  if (whole) {
    const { size } = await stat(file);
    if (size > 512 * 1024 * 1024) throw new UsageError(`${file}: not in the layout 'printlog export --format json' writes, and too large to read whole`);
    const { readFile } = await import("node:fs/promises");
    let list: unknown;
    try {
      list = JSON.parse(await readFile(file, "utf8"));
    } catch (e) {
      throw new UsageError(`${file}: not JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(list)) throw new UsageError(`${file}: expected a list of jobs (what 'printlog export --format json' writes)`);
    for (const [i, v] of list.entries()) yield importedJob(v, `${file}: job ${i + 1}`);
    return;
  }
  if (opened && !closed) throw new UsageError(`${file}: the list is cut short (no closing ']')`);
}

export async function importCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...CONFIG_FLAGS }, true);
  if (values.help) return void process.stdout.write(IMPORT_HELP), EXIT_OK;
  if (positionals.length !== 1) throw new UsageError(`import needs exactly one file\n\n${IMPORT_HELP}`);
  const file = resolve(positionals[0]!);
  const dir = resolve(configFrom(values).server.dataDir);
  // Takes the lock: refuses with "in use by another printlog (pid N)" while one runs.
  const store = await HistoryStore.open(dir, { logger: silentLogger });
  try {
    // First pass: validate everything and refuse duplicates before changing anything.
    const seen = new Set<number>();
    const clashes: string[] = [];
    let n = 0;
    for await (const job of exportedJobs(file)) {
      const num = parseJobId(job.job_id)!;
      if (seen.has(num)) throw new UsageError(`${file}: job ${job.job_id} appears twice`);
      seen.add(num);
      if (store.getJob(job.job_id)) clashes.push(job.job_id);
      n += 1;
    }
    if (clashes.length > 0) {
      throw new UsageError(`${clashes.length} job id(s) of ${file} are already in the history (${clashes.slice(0, 5).join(", ")}${clashes.length > 5 ? ", ..." : ""}); nothing imported`);
    }
    const before = store.totals().job_totals.total_jobs;
    let batch: JobRecord[] = [];
    for await (const job of exportedJobs(file)) {
      batch.push(job);
      if (batch.length === 500) {
        await store.importJobs(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await store.importJobs(batch);
    const after = store.totals().job_totals.total_jobs;
    process.stdout.write(`imported ${n} jobs into ${dir}; ${after - before} finished jobs added to the totals (now ${after})\n`);
  } finally {
    await store.close();
  }
  return EXIT_OK;
}
