// The rest of the Moonraker surface Mainsail and Fluidd call (web-clients.md): identify, info,
// config, machine stats, the database, files, webcams, job queue and announcements. klippy_state
// follows the printer link (printer-methods.ts serves the printer.* API).

import type { Config } from "../config/config.js";
import { fieldOptions, type SensorSetup } from "../aux/config.js";
import { DbError, type Database } from "../database/store.js";
import type { ProcStats } from "../system/proc-stats.js";
import { systemInfo } from "../system/proc-stats.js";
import { ApiError, badRequest, notFound } from "./errors.js";
import type { ApiMethod } from "./methods.js";
import type { Args } from "./args.js";

export const PRINTLOG_VERSION = "0.1.0";
/** Above both clients' minimum Moonraker versions, and says what it is. */
export const MOONRAKER_VERSION = `v0.9.3-0-printlog-${PRINTLOG_VERSION}`;
export const API_VERSION = [1, 5, 0];

export interface ServerContext {
  config: Config;
  /** Components and methods served beyond the fixed ones (web-surface.ts: files, spoolman, ...). */
  extraComponents?: string[];
  extraMethods?: ApiMethod[];
  sensors: SensorSetup;
  database: Database;
  procStats: ProcStats;
  websocketCount: () => number;
  warnings: string[];
  /** Moonraker's klippy_connected / klippy_state, from the printer link. */
  klippy?: () => { klippy_connected: boolean; klippy_state: string };
}

/** Roots clients ask for; printlog answers each validly (empty unless a G-code dir is set). */
export const ROOTS = ["gcodes", "config", "logs", "config_examples", "docs"];
const MAX_LISTED = 10_000;

function dbError(e: DbError): ApiError {
  return e.status === 404 ? notFound(e.message) : e.status === 413 ? new ApiError("payload_too_large", e.message) : badRequest(e.message);
}

function dbCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DbError) throw dbError(e);
    throw e;
  }
}

async function dbCallAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof DbError) throw dbError(e);
    throw e;
  }
}

function configView(ctx: ServerContext): Record<string, unknown> {
  const c = ctx.config;
  const config: Record<string, unknown> = {
    server: { host: c.server.host, port: c.server.port },
    authorization: { cors_domains: c.auth.corsDomains, trusted_clients: c.auth.trustedClients },
    history: {},
    database: {},
    printer: { device: c.printer.device, baud: c.printer.baud, gcode_dir: c.printer.gcodeDir },
    // Mainsail, Fluidd and KlipperScreen size their charts and consoles from these.
    data_store: { temperature_store_size: 1200, gcode_store_size: 1000 },
  };
  for (const s of ctx.sensors.sensors) {
    const section: Record<string, unknown> = { type: "printlog" };
    for (const f of s.fields) {
      // Mainsail labels aux columns from config["sensor <name>"]["history_field_<field>"].
      section[`history_field_${f.name}`] = { desc: f.desc, parameter: f.parameter, ...fieldOptions(f) };
    }
    config[`sensor ${s.name}`] = section;
  }
  return { config, orig: {}, files: [] };
}

export function serverMethods(ctx: ServerContext): ApiMethod[] {
  // Only what works is advertised: no job_queue (printlog does not print), `spoolman` only with
  // a configured Spoolman server (clients then call its proxy).
  const components = () => ["history", "database", "file_manager", "machine", "proc_stats", "webcam", "announcements", ...(ctx.extraComponents ?? []), ...(ctx.sensors.sensors.length > 0 ? ["sensor"] : [])];
  const dbArgs = (args: Args) => ({ ns: args.str("namespace"), key: args.has("key") ? args.any("key") : undefined });
  return [
    {
      rpc: "server.connection.identify",
      handler: (args, rc) => {
        const info = { client_name: args.str("client_name"), version: args.str("version"), type: args.str("type"), url: args.str("url") };
        if (!rc.connection) throw badRequest("server.connection.identify is only available over the WebSocket");
        // As Moonraker: a connection says who it is once.
        if (!rc.connection.identify(info)) throw badRequest("Connection already identified");
        return { connection_id: rc.connection.id };
      },
    },
    {
      rpc: "server.websocket.id",
      handler: (_args, rc) => {
        if (!rc.connection) throw badRequest("only available over the WebSocket");
        return { websocket_id: rc.connection.id };
      },
    },
    {
      rpc: "server.info",
      http: { verb: "GET", path: "/server/info" },
      handler: () => ({
        ...(ctx.klippy?.() ?? { klippy_connected: false, klippy_state: "disconnected" }),
        components: components(),
        failed_components: [],
        registered_directories: ROOTS.slice(0, 3),
        warnings: ctx.warnings,
        websocket_count: ctx.websocketCount(),
        moonraker_version: MOONRAKER_VERSION,
        missing_klippy_requirements: [],
        api_version: API_VERSION,
        api_version_string: API_VERSION.join("."),
        printlog_version: PRINTLOG_VERSION,
      }),
    },
    { rpc: "server.config", http: { verb: "GET", path: "/server/config" }, handler: () => configView(ctx) },
    { rpc: "machine.system_info", http: { verb: "GET", path: "/machine/system_info" }, handler: () => ({ system_info: systemInfo() }) },
    { rpc: "machine.proc_stats", http: { verb: "GET", path: "/machine/proc_stats" }, handler: () => ctx.procStats.snapshot(ctx.websocketCount()) },
    {
      rpc: "server.database.list",
      http: { verb: "GET", path: "/server/database/list" },
      handler: () => ({ namespaces: ctx.database.namespaces(), backups: [] }),
    },
    {
      rpc: "server.database.get_item",
      http: { verb: "GET", path: "/server/database/item" },
      handler: (args) => {
        const { ns, key } = dbArgs(args);
        return { namespace: ns, key: key ?? null, value: dbCall(() => ctx.database.get(ns, key)) };
      },
    },
    {
      rpc: "server.database.post_item",
      http: { verb: "POST", path: "/server/database/item" },
      handler: async (args) => {
        const { ns } = dbArgs(args);
        const key = args.any("key");
        const value = await dbCallAsync(() => ctx.database.post(ns, key, args.any("value")));
        return { namespace: ns, key, value };
      },
    },
    {
      rpc: "server.database.delete_item",
      http: { verb: "DELETE", path: "/server/database/item" },
      handler: async (args) => {
        const { ns } = dbArgs(args);
        const key = args.any("key");
        const value = await dbCallAsync(() => ctx.database.delete(ns, key));
        return { namespace: ns, key, value };
      },
    },
    { rpc: "server.webcams.list", http: { verb: "GET", path: "/server/webcams/list" }, handler: () => ({ webcams: [] }) },
    { rpc: "server.job_queue.status", http: { verb: "GET", path: "/server/job_queue/status" }, handler: () => ({ queued_jobs: [], queue_state: "ready" }) },
    { rpc: "server.announcements.list", http: { verb: "GET", path: "/server/announcements/list" }, handler: () => ({ entries: [], feeds: [] }) },
    ...(ctx.extraMethods ?? []),
  ];
}
