// The crash check shared by the test suite (short) and scripts/crash-soak (long): run the
// crash-writer, SIGKILL it at a random moment, reopen the store and check every invariant.

import { spawn } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { HistoryStore } from "../src/history/store.js";
import { FINISH_STATUSES, type JobRecord } from "../src/history/types.js";
import { silentLogger } from "../src/log.js";

const WRITER = join(dirname(fileURLToPath(import.meta.url)), "crash-writer.js");

export interface CrashReport {
  rounds: number;
  /** Jobs the writer deleted (some of them inside index folds). */
  deleted: number;
  finishedSeen: number;
  interrupted: number;
  jobs: number;
}

function runOnce(dir: string, seed: number, killAfterMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, dir, String(seed)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d.toString();
      if (out.startsWith("READY") && !timer) timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    });
    child.stderr.on("data", (d) => (err += d.toString()));
    let timer: NodeJS.Timeout | undefined;
    child.on("exit", (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal !== "SIGKILL") reject(new Error(`writer exited on its own (${code}): ${err}`));
      else resolve(out);
    });
  });
}

function assertSame(stored: JobRecord | undefined, reported: JobRecord, round: number): void {
  const keys = ["job_id", "filename", "status", "start_time", "end_time", "print_duration", "total_duration", "filament_used"] as const;
  if (!stored) throw new Error(`round ${round}: finished job ${reported.job_id} is missing`);
  for (const k of keys) {
    if (stored[k] !== reported[k]) {
      throw new Error(`round ${round}: job ${reported.job_id} ${k} changed: ${String(reported[k])} -> ${String(stored[k])}`);
    }
  }
}

function addTo(sum: { jobs: number; time: number; print: number; filament: number }, j: JobRecord): void {
  if (!FINISH_STATUSES.has(j.status as never)) return;
  sum.jobs += 1;
  sum.time += j.total_duration;
  sum.print += j.print_duration;
  sum.filament += j.filament_used;
}

export async function crashRounds(dir: string, rounds: number, seed = 1, onRound?: (i: number) => void): Promise<CrashReport> {
  const finished = new Map<string, JobRecord>();
  /** Totals keep a deleted job (as Moonraker's do): the sums of the finished jobs deleted. */
  const deletedSum = { jobs: 0, time: 0, print: 0, filament: 0 };
  const gone = new Set<string>();
  let interrupted = 0;
  let rng = seed >>> 0 || 1;
  const rand = () => {
    rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0;
    return rng / 4294967296;
  };
  let jobs = 0;
  for (let round = 0; round < rounds; round++) {
    const out = await runOnce(dir, seed * 1000 + round, 5 + Math.floor(rand() * 150));
    const checkpoints = new Map<string, number>();
    const deleting = new Map<string, JobRecord>();
    for (const line of out.split("\n")) {
      if (line.startsWith("DELETING ")) {
        const job = JSON.parse(line.slice(9)) as JobRecord;
        deleting.set(job.job_id, job);
        finished.delete(job.job_id);
      } else if (line.startsWith("DEL ")) {
        const id = line.slice(4);
        const job = deleting.get(id);
        deleting.delete(id);
        gone.add(id);
        if (job) addTo(deletedSum, job);
        else throw new Error(`round ${round}: DEL ${id} without DELETING`);
      } else if (line.startsWith("FIN ")) {
        const job = JSON.parse(line.slice(4)) as JobRecord;
        finished.set(job.job_id, job);
      } else if (line.startsWith("CKPT ")) {
        const [, id, printed] = line.split(" ");
        checkpoints.set(id!, Number(printed));
      }
    }
    const store = await HistoryStore.open(dir, { logger: silentLogger });
    try {
      // A delete cut by the kill: done or not, either is right; the history says which.
      for (const [id, job] of deleting) {
        if (store.getJob(id) === undefined) {
          gone.add(id);
          if (job) addTo(deletedSum, job);
        } else finished.set(id, job);
      }
      for (const id of gone) if (store.getJob(id) !== undefined) throw new Error(`round ${round}: deleted job ${id} is back`);
      for (const [id, job] of finished) assertSame(store.getJob(id), job, round);
      for (const [id, printed] of checkpoints) {
        if (gone.has(id)) continue;
        const job = store.getJob(id);
        if (!job) throw new Error(`round ${round}: checkpointed job ${id} is missing`);
        if (job.status === "interrupted") {
          interrupted += 1;
          // Checkpoints are journalled at most every 30 s of job time; the writer's steps are
          // 31 s apart, so every reported checkpoint is durable.
          if (job.print_duration < printed) {
            throw new Error(`round ${round}: interrupted job ${id} lost its checkpoint (${job.print_duration} < ${printed})`);
          }
        }
      }
      if (store.jobs.some((j) => j.status === "in_progress")) throw new Error(`round ${round}: a job is still in_progress after recovery`);
      const sum = { ...deletedSum };
      for (const j of store.jobs) addTo(sum, j);
      const t = store.totals().job_totals;
      const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a));
      if (t.total_jobs !== sum.jobs || !close(t.total_time, sum.time) || !close(t.total_print_time, sum.print) || !close(t.total_filament_used, sum.filament)) {
        throw new Error(`round ${round}: totals ${JSON.stringify(t)} differ from the sum over finished jobs ${JSON.stringify(sum)}`);
      }
      jobs = store.jobs.length;
    } finally {
      await store.close();
    }
    onRound?.(round);
  }
  return { rounds, finishedSeen: finished.size, interrupted, jobs, deleted: gone.size };
}
