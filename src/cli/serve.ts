// `printlog serve`: record the printer's jobs and serve the history API until SIGTERM/SIGINT.

import { createLogger } from "../log.js";
import { startPrintlog } from "../main.js";
import { CONFIG_FLAGS, EXIT_FAILURE, EXIT_OK, configFrom, parse } from "./common.js";

export const SERVE_HELP = `Usage: printlog serve [options]

Records the printer's jobs and serves Moonraker's history API.

Options:
  --config FILE      configuration file (INI, see README)   [env PRINTLOG_CONFIG]
  --data-dir DIR     where history is kept (default ./data)  [env PRINTLOG_DATA_DIR]
  --host HOST        address to listen on (default 0.0.0.0)  [env PRINTLOG_HOST]
  --http-port N      HTTP port (default 7125)                [env PRINTLOG_HTTP_PORT]
  --device PATH      serial device, 'auto' or 'none'         [env PRINTLOG_DEVICE]
  --baud N           baud rate (default 115200)              [env PRINTLOG_BAUD]
  --log-level LEVEL  debug, info, warn or error              [env PRINTLOG_LOG_LEVEL]
  -h, --help         show this help
`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...CONFIG_FLAGS,
    host: { type: "string" },
    "http-port": { type: "string" },
    device: { type: "string" },
    baud: { type: "string" },
    "log-level": { type: "string" },
  });
  if (values.help) return void process.stdout.write(SERVE_HELP), EXIT_OK;
  const config = configFrom(values, [
    ["server", "host", "host"],
    ["server", "port", "http-port"],
    ["server", "log_level", "log-level"],
    ["printer", "device", "device"],
    ["printer", "baud", "baud"],
  ]);
  const logger = createLogger((l) => process.stdout.write(l + "\n"), config.server.logLevel);
  const app = await startPrintlog(config, logger);
  // Start-up's garbage (the index load, the journal replay) is collected now rather than when V8's
  // memory reducer gets to it; only with --expose-gc (deploy/node-flags.env).
  (globalThis as { gc?: () => void }).gc?.();
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
