// `printlog replay FILE`: rebuilds history from a serial log into the data directory.

import { resolve } from "node:path";
import { HistoryStore } from "../history/store.js";
import { createLogger } from "../log.js";
import { replayLog } from "../job/replay.js";
import { CONFIG_FLAGS, EXIT_OK, UsageError, configFrom, hms, parse, table } from "./common.js";

export const REPLAY_HELP = `Usage: printlog replay FILE [--data-dir DIR] [--config FILE] [--verbose]

Rebuilds history from a serial log, writing it into the data directory exactly as live
recording would. FILE is OctoPrint's serial.log (\`2019-08-19 21:24:57,294 - Recv: ok\`) or
lines of \`<unix seconds> < <line>\` (\`|\` also marks a received line, \`>\` a sent one).
Do not replay into the data directory of a running printlog (it is locked).
`;

export async function replayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...CONFIG_FLAGS, verbose: { type: "boolean" } }, true);
  if (values.help) return void process.stdout.write(REPLAY_HELP), EXIT_OK;
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError("replay needs exactly one log FILE (see printlog replay --help)");
  const config = configFrom(values);
  const logger = createLogger((l) => process.stderr.write(l + "\n"), values.verbose ? "info" : "warn");
  const store = await HistoryStore.open(resolve(config.server.dataDir), { logger, checkpointInterval: config.history.checkpointInterval });
  try {
    const p = config.printer;
    const summary = await replayLog(
      file,
      store,
      logger,
      {
        cancelCount: p.cancelCount,
        cancelSeconds: p.cancelSeconds,
        idleSeconds: p.pollIdleSeconds,
        printingSeconds: p.pollPrintingSeconds,
        positionSeconds: 4,
        statsSeconds: 30,
        gcodeDir: p.gcodeDir,
        silentSeconds: 90,
        handshakeSeconds: 5,
      },
      (bytes, total) => process.stderr.write(`replay: ${Math.round((100 * bytes) / total)}%\n`),
    );
    process.stdout.write(`replayed ${summary.received} received lines of ${summary.lines}; ${summary.jobs.length} job(s) found\n`);
    if (summary.jobs.length > 0) {
      const rows = [["ID", "STATUS", "STARTED", "TIME", "FILE"]];
      for (const j of summary.jobs) rows.push([j.job_id, j.status, new Date(j.start_time * 1000).toISOString().replace("T", " ").slice(0, 19), hms(j.total_duration), j.filename]);
      process.stdout.write(table(rows));
    }
  } finally {
    await store.close();
  }
  return EXIT_OK;
}
