// Long whole-system soak: `node dist/scripts/printer-crash-soak.js [ROUNDS=1000] [DIR]` — the
// virtual printer prints continuously while printlog is SIGKILLed ROUNDS times (about 2 s each).

import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { printerCrashRounds } from "./printer-crash-harness.js";

const rounds = Number(process.argv[2] ?? 1000);
const dir = process.argv[3] ?? (await mkdtemp(join(tmpdir(), "printlog-printer-soak-")));
const started = Date.now();
const r = await printerCrashRounds(dir, rounds, Date.now() & 0xffff, (i) => {
  if ((i + 1) % 50 === 0) process.stdout.write(`  ${i + 1}/${rounds} kills survived\n`);
});
process.stdout.write(
  `printer crash soak: ${r.rounds} SIGKILLs of printlog, ${r.printsStarted} prints started, ${r.jobs} jobs recorded, ${r.settled} finished jobs checked after every kill, ${((Date.now() - started) / 1000).toFixed(0)} s (data: ${dir})\n`,
);
