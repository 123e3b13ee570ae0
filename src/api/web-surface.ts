// Everything Mainsail and Fluidd use beyond the history and the server core, built in one place
// so main.ts only wires it in: the file manager (gcode_dir, metadata, thumbnails, the log),
// Spoolman, oneshot tokens, access.*, and clear refusals for what printlog does not do.

import { join } from "node:path";
import type { Hono } from "hono";
import type { Config } from "../config/config.js";
import { LastPrints } from "../files/last-print.js";
import type { HistoryStore } from "../history/store.js";
import type { Logger } from "../log.js";
import type { AuxService } from "../aux/service.js";
import { loadSpoolmanSettings, SpoolmanLink } from "../aux/spoolman.js";
import { GcodeFiles } from "../files/file-metadata.js";
import type { LogRing } from "../files/log-ring.js";
import type { AccessPolicy } from "./access.js";
import { accessMethods } from "./access-methods.js";
import { fileMethods, mountFiles, type FileContext } from "./file-methods.js";
import type { ApiMethod, MethodTable } from "./methods.js";
import { OneshotTokens, oneshotMethods } from "./oneshot.js";
import { refusedMethods } from "./refusals.js";
import { spoolmanMethods } from "./spoolman-methods.js";

export interface WebSurfaceDeps {
  config: Config;
  dataDir: string;
  store: HistoryStore;
  aux: AuxService;
  access: AccessPolicy;
  apiKey: string;
  /** printlog's recent log lines (the `logs` root's file). */
  log: LogRing;
  logger: Logger;
  /** Configuration warnings are added here (they show in server.info). */
  warnings: string[];
  /** A notification to every client. */
  notify(method: string, params: unknown[]): void;
}

export interface WebSurface {
  methods: ApiMethod[];
  /** Components to advertise in server.info beyond the fixed ones. */
  extraComponents: string[];
  oneshot: OneshotTokens;
  /** File downloads under /server/files/ (after the table's own endpoints). */
  mount(app: Hono, table: MethodTable): void;
  close(): void;
}

export function createWebSurface(d: WebSurfaceDeps): WebSurface {
  const before = d.warnings.length;
  const spoolmanSettings = loadSpoolmanSettings(d.config, d.warnings);
  for (const w of d.warnings.slice(before)) d.logger.warn("config.warning", { detail: w });
  const gcodeDir = d.config.printer.gcodeDir;
  const lastPrints = new LastPrints(d.store);
  const files: FileContext = {
    gcodeDir,
    dataDir: d.dataDir,
    log: d.log,
    // Thumbnails go beside the G-code (.thumbs), or to data_dir/thumbs when gcode_dir is read-only.
    gcodeFiles: gcodeDir ? new GcodeFiles(gcodeDir, join(d.dataDir, "thumbs"), (name) => lastPrints.get(name)) : null,
  };
  const spoolman = spoolmanSettings
    ? new SpoolmanLink(spoolmanSettings, d.logger.child({ component: "spoolman" }), (connected) => d.notify("notify_spoolman_status_changed", [{ spoolman_connected: connected }]))
    : null;
  spoolman?.start();
  // Moonraker's notify_active_spool_set, which both clients follow.
  d.aux.onActiveSpool((spool_id) => d.notify("notify_active_spool_set", [{ spool_id }]));
  const oneshot = new OneshotTokens();
  return {
    methods: [
      ...fileMethods(files),
      ...spoolmanMethods(d.aux, spoolman),
      ...oneshotMethods(oneshot),
      ...accessMethods((ip) => d.access.isTrusted(ip), d.apiKey, Date.now() / 1000),
      ...refusedMethods(),
    ],
    extraComponents: spoolman ? ["spoolman"] : [],
    oneshot,
    mount: (app, table) => mountFiles(app, table, files),
    close: () => spoolman?.close(),
  };
}
