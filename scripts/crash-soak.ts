// Long crash soak: `node dist/scripts/crash-soak.js [ROUNDS=1000] [DIR]`. SIGKILLs a recording
// process ROUNDS times at random points and checks the history after every restart.

import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crashRounds } from "./crash-harness.js";

const rounds = Number(process.argv[2] ?? 1000);
const dir = process.argv[3] ?? (await mkdtemp(join(tmpdir(), "printlog-soak-")));
const started = Date.now();
const report = await crashRounds(dir, rounds, Date.now() & 0xffff, (i) => {
  if ((i + 1) % 50 === 0) process.stdout.write(`  ${i + 1}/${rounds} kills survived\n`);
});
process.stdout.write(
  `crash soak: ${report.rounds} SIGKILLs, ${report.finishedSeen} finished jobs checked, ${report.interrupted} interrupted jobs with checkpoints, ${report.jobs} jobs in the store, ${((Date.now() - started) / 1000).toFixed(0)} s (data: ${dir})\n`,
);
