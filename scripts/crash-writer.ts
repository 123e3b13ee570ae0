// Child process for the crash suites: records jobs through the real HistoryStore as fast as it
// can and reports on stdout what is durable (after the awaited write), so a parent that SIGKILLs
// it can check that nothing reported was lost or altered.
//   node crash-writer.js DATA_DIR SEED

import { HistoryStore } from "../src/history/store.js";
import type { FinishStatus } from "../src/history/types.js";
import { silentLogger } from "../src/log.js";

const [dir, seedText] = process.argv.slice(2);
let seed = Number(seedText ?? 1) >>> 0 || 1;
const rand = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const STATUSES: FinishStatus[] = ["completed", "cancelled", "error", "klippy_shutdown", "klippy_disconnect", "server_exit"];

// A small index overlay: deletions of older jobs fold the index into a new generation every few
// jobs, so kills land inside those folds too.
const store = await HistoryStore.open(dir!, { logger: silentLogger, minCompactBytes: 8 * 1024, checkpointInterval: 30, indexOverlayMin: 3 });
const out = (line: string) => process.stdout.write(line + "\n");
// A recorder never writes back to back; pacing keeps the history (and each round) small while
// kills still land at every stage: between, during and after writes and compactions.
const pause = () => new Promise((r) => setTimeout(r, 1 + Math.floor(rand() * 3)));
out("READY");
let t = Date.now() / 1000;
for (;;) {
  const job = await store.startJob({
    filename: `soak/${Math.floor(rand() * 1e6)}.gcode`,
    start_time: t,
    metadata: { size: Math.floor(rand() * 1e7), modified: t - 100, slicer: "PrusaSlicer", estimated_time: 3600 },
  });
  out(`START ${job.job_id}`);
  let printed = 0;
  let filament = 0;
  const steps = 1 + Math.floor(rand() * 4);
  for (let s = 0; s < steps; s++) {
    t += 31;
    printed += 31;
    filament += rand() * 100;
    await pause();
    await store.updateJob(job.job_id, t, { print_duration: printed, total_duration: printed, filament_used: filament, progress: s / steps });
    out(`CKPT ${job.job_id} ${printed} ${filament}`);
  }
  t += 5;
  await pause();
  const status = STATUSES[Math.floor(rand() * STATUSES.length)]!;
  const done = await store.finishJob(job.job_id, status, t, { total_duration: printed + 5 }, "crash-writer");
  out(`FIN ${JSON.stringify(done)}`);
  if (rand() < 0.25 && store.count > 2) {
    // An older job deleted (reported before and after: a kill between leaves it either way).
    // With its record: it may be a job interrupted by an earlier kill, whose values the parent
    // never saw, and totals keep a deleted job.
    const victim = store.jobs[Math.floor(rand() * (store.count - 1))]!;
    out(`DELETING ${JSON.stringify(victim)}`);
    await store.deleteJob(victim.job_id);
    out(`DEL ${victim.job_id}`);
  }
}
