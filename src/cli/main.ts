#!/usr/bin/env node
// The `printlog` command: parses the command line and runs a subcommand. Exit codes:
// 0 success, 1 runtime failure, 2 usage or configuration error.

import { parseArgs } from "node:util";
import { ConfigError, loadConfig, type Config } from "../config/config.js";
import { createLogger } from "../log.js";
import { startPrintlog } from "../main.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const SERVE_HELP = `Usage: printlog serve [options]

Records the printer's jobs and serves Moonraker's history API.

Options:
  --config FILE      configuration file (INI, see README)   [env PRINTLOG_CONFIG]
  --data-dir DIR     where history is kept (default ./data)  [env PRINTLOG_DATA_DIR]
  --host HOST        address to listen on (default 0.0.0.0)  [env PRINTLOG_HOST]
  --http-port N      HTTP port (default 7125)                [env PRINTLOG_HTTP_PORT]
  --device PATH      serial device, 'auto' or 'none'         [env PRINTLOG_DEVICE]
  --baud N           baud rate (default 115200)              [env PRINTLOG_BAUD]
  --log-level LEVEL  debug, info, warn or error
  -h, --help         show this help
`;

const MAIN_HELP = `Usage: printlog <command> [options]

Commands:
  serve     record the printer's jobs and serve the history API (default)

Run 'printlog <command> --help' for a command's options.
`;

function fail(code: number, message: string): number {
  process.stderr.write(`printlog: ${message}\n`);
  return code;
}

function configFrom(values: Record<string, string | boolean | undefined>): Config {
  const overrides: [string, string, string][] = [];
  const flag = (name: string, section: string, key: string) => {
    const v = values[name];
    if (typeof v === "string") overrides.push([section, key, v]);
  };
  flag("data-dir", "server", "data_dir");
  flag("host", "server", "host");
  flag("http-port", "server", "port");
  flag("log-level", "server", "log_level");
  flag("device", "printer", "device");
  flag("baud", "printer", "baud");
  return loadConfig({ file: values["config"] as string | undefined, env: process.env, overrides });
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: "string" },
      "data-dir": { type: "string" },
      host: { type: "string" },
      "http-port": { type: "string" },
      device: { type: "string" },
      baud: { type: "string" },
      "log-level": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return EXIT_OK;
  }
  const config = configFrom(values);
  const logger = createLogger((l) => process.stdout.write(l + "\n"), config.server.logLevel);
  const app = await startPrintlog(config, logger);
  logger.info("serve.listening", { url: app.server.url, data_dir: config.server.dataDir });
  process.stdout.write(`printlog: serving the history API on ${app.server.url}\n`);
  if (config.printer.device === "none") process.stdout.write("printlog: no printer configured (--device none); serving history only\n");
  else if (config.printer.device === "auto") process.stdout.write("printlog: waiting for a printer; looking in /dev/serial/by-id/*, /dev/ttyACM*, /dev/ttyUSB*\n");
  else process.stdout.write(`printlog: waiting for the printer on ${config.printer.device}\n`);
  return await new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info("serve.stopping", { signal });
      app
        .stop(`printlog stopped (${signal})`)
        .then(() => resolve(EXIT_OK))
        .catch((err) => {
          logger.error("serve.stop_failed", { error: (err as Error).message });
          resolve(EXIT_FAILURE);
        });
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  });
}

export async function run(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === "-h" || first === "--help" || first === "help") {
      process.stdout.write(MAIN_HELP);
      return EXIT_OK;
    }
    if (first === undefined || first.startsWith("-")) return await serve(argv);
    switch (first) {
      case "serve":
        return await serve(rest);
      default:
        return fail(EXIT_USAGE, `unknown command '${first}'\n\n${MAIN_HELP}`);
    }
  } catch (err) {
    if (err instanceof ConfigError) return fail(EXIT_USAGE, `configuration error: ${err.message}`);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" || code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" || code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      return fail(EXIT_USAGE, (err as Error).message);
    }
    if (code === "EADDRINUSE") return fail(EXIT_FAILURE, `the HTTP port is already in use: ${(err as Error).message}`);
    return fail(EXIT_FAILURE, (err as Error).message);
  }
}

run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Let stdout drain, then leave even if a stray handle lingers.
  setTimeout(() => process.exit(code), 50).unref();
});
