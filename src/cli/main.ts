#!/usr/bin/env node
// The `printlog` command. Exit codes: 0 success, 1 runtime failure (a port in use, an unreadable
// data directory), 2 usage or configuration error.

import { ConfigError } from "../config/config.js";
import { HistoryError } from "../history/errors.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from "./common.js";
import { checkConfigCommand } from "./check-config.js";
import { exportCommand, listCommand, totalsCommand } from "./history-commands.js";
import { replayCommand } from "./replay.js";
import { backupCommand, importCommand } from "./store-commands.js";
import { serveCommand } from "./serve.js";

const MAIN_HELP = `Usage: printlog <command> [options]

Commands:
  serve         record the printer's jobs and serve the history API (the default)
  replay FILE   rebuild history from a serial log (OctoPrint serial.log or timestamped lines)
  list          the newest jobs as a table (--json: the API's objects)
  totals        the job totals (--json: the API's object)
  export        jobs as CSV or JSON, with --since, --before, --status
  backup DEST   a consistent copy of the data directory, also while serving
  import FILE   add the jobs of an 'export --format json' file, ids kept
  check-config  validate a configuration file and show the result

Run 'printlog <command> --help' for a command's options.
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  serve: serveCommand,
  replay: replayCommand,
  list: listCommand,
  totals: totalsCommand,
  export: exportCommand,
  backup: backupCommand,
  import: importCommand,
  "check-config": checkConfigCommand,
};

function fail(code: number, message: string): number {
  process.stderr.write(`printlog: ${message}\n`);
  return code;
}

export async function run(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === "-h" || first === "--help" || first === "help") {
      process.stdout.write(MAIN_HELP);
      return EXIT_OK;
    }
    if (first === undefined || first.startsWith("-")) return await serveCommand(argv);
    const command = COMMANDS[first];
    if (!command) return fail(EXIT_USAGE, `unknown command '${first}'\n\n${MAIN_HELP}`);
    return await command(rest);
  } catch (err) {
    if (err instanceof UsageError) return fail(EXIT_USAGE, err.message);
    if (err instanceof ConfigError) return fail(EXIT_USAGE, `configuration error: ${err.message}`);
    if (err instanceof HistoryError) return fail(EXIT_FAILURE, err.message);
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE") return fail(EXIT_FAILURE, `the HTTP port is already in use (${e.message}); stop the other server or choose --http-port`);
    if (e.code === "EACCES" || e.code === "EROFS") return fail(EXIT_FAILURE, `${e.message}: check the data directory's permissions`);
    if (e.code === "ENOENT") return fail(EXIT_FAILURE, e.message);
    return fail(EXIT_FAILURE, e.message ?? String(err));
  }
}

run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Let stdout drain, then leave even if a stray handle lingers.
  setTimeout(() => process.exit(code), 50).unref();
});
