// Moonraker's printer API, read-only, over the one method table: printer.info, printer.objects.*
// (with per-connection subscriptions), the temperature and G-code stores, and the control methods,
// each answering that printlog does not drive the printer (printer-state.md §3, §4).

import { hostname, cpus } from "node:os";
import { ApiError, badRequest } from "./errors.js";
import type { ApiMethod, RequestContext } from "./methods.js";
import type { Args } from "./args.js";
import { PrinterRequestError, type PrinterService } from "../printer/service.js";
import type { ObjectRequest } from "../printer/subscriptions.js";
import { GCODE_STORE_SIZE } from "../printer/stores.js";

const MAX_OBJECTS = 100;
const MAX_FIELDS = 100;
const MAX_NAME = 100;

function asApiError(e: unknown): unknown {
  if (e instanceof PrinterRequestError) return e.status === 503 ? new ApiError("klippy_unavailable", e.message) : badRequest(e.message);
  return e;
}

/** Runs a handler and turns the printer service's refusals into API errors. */
async function guarded<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw asApiError(e);
  }
}

function validName(name: string, what: string): string {
  if (name.length === 0 || name.length > MAX_NAME || name === "__proto__") throw badRequest(`Invalid ${what}: '${name.slice(0, MAX_NAME)}'`);
  return name;
}

/**
 * The objects of a query or subscription: `{objects: {name: null | [fields]}}` (JSON-RPC, POST
 * body), or one query argument per object with comma-separated fields (`?webhooks&extruder=target,temperature`).
 */
export function parseObjectRequest(args: Args): ObjectRequest {
  let raw: Record<string, unknown>;
  if (args.has("objects")) {
    const o = args.any("objects");
    if (typeof o !== "object" || o === null || Array.isArray(o)) throw badRequest("Invalid argument 'objects': expected an object of {name: null | [fields]}");
    raw = o as Record<string, unknown>;
  } else {
    raw = Object.create(null) as Record<string, unknown>;
    for (const [k, v] of Object.entries(args.raw)) {
      if (k === "connection_id") continue;
      raw[k] = typeof v === "string" ? (v.trim() === "" ? null : v.split(",").map((f) => f.trim()).filter((f) => f !== "")) : v;
    }
  }
  const names = Object.keys(raw);
  if (names.length > MAX_OBJECTS) throw badRequest(`Too many objects requested (at most ${MAX_OBJECTS})`);
  const out: ObjectRequest = Object.create(null);
  for (const name of names) {
    const fields = raw[name];
    validName(name, "object name");
    if (fields === null || fields === undefined || (Array.isArray(fields) && fields.length === 0)) {
      out[name] = null;
      continue;
    }
    if (!Array.isArray(fields) || fields.length > MAX_FIELDS || !fields.every((f) => typeof f === "string")) {
      throw badRequest(`Invalid argument for object '${name}': expected null or a list of field names`);
    }
    out[name] = [...new Set((fields as string[]).map((f) => validName(f, "field name")))];
  }
  return out;
}

function cpuInfo(): string {
  const list = cpus();
  return `${list.length} core ${list[0]?.model ?? "unknown CPU"}`.trim();
}

/** The WebSocket connection a subscription belongs to: the caller's, or an HTTP `connection_id`. */
function subscriber(args: Args, rc: RequestContext, exists: (id: number) => boolean): number | null {
  if (rc.connection) return rc.connection.id;
  if (!args.has("connection_id")) return null;
  const id = args.int("connection_id");
  if (!exists(id)) throw badRequest(`No WebSocket connection with connection_id ${id}`);
  return id;
}

const CONTROL: { rpc: string; path: string; what: string }[] = [
  { rpc: "printer.print.start", path: "/printer/print/start", what: "the print start" },
  { rpc: "printer.print.pause", path: "/printer/print/pause", what: "the pause" },
  { rpc: "printer.print.resume", path: "/printer/print/resume", what: "the resume" },
  { rpc: "printer.print.cancel", path: "/printer/print/cancel", what: "the cancel" },
  { rpc: "printer.emergency_stop", path: "/printer/emergency_stop", what: "M112 (emergency stop)" },
  { rpc: "printer.restart", path: "/printer/restart", what: "RESTART" },
  { rpc: "printer.firmware_restart", path: "/printer/firmware_restart", what: "FIRMWARE_RESTART" },
];

export function printerMethods(printer: PrinterService): ApiMethod[] {
  const info = () => ({
    state: printer.model.state === "disconnected" ? "error" : printer.model.state,
    state_message: printer.model.message,
    hostname: hostname(),
    klipper_path: "",
    python_path: "",
    process_id: process.pid,
    user_id: process.getuid?.() ?? 0,
    group_id: process.getgid?.() ?? 0,
    log_file: "",
    config_file: "",
    software_version: printer.softwareVersion(),
    cpu_info: cpuInfo(),
  });
  const methods: ApiMethod[] = [
    {
      rpc: "printer.info",
      http: { verb: "GET", path: "/printer/info" },
      handler: () =>
        guarded(() => {
          printer.requireConnected();
          return info();
        }),
    },
    {
      rpc: "printer.objects.list",
      http: { verb: "GET", path: "/printer/objects/list" },
      handler: () =>
        guarded(() => {
          printer.requireConnected();
          return { objects: printer.objectsList() };
        }),
    },
    {
      rpc: "printer.objects.query",
      http: { verb: "GET", path: "/printer/objects/query", alsoVerbs: ["POST"] },
      handler: (args) =>
        guarded(() => {
          const request = parseObjectRequest(args);
          printer.requireConnected();
          return printer.query(request);
        }),
    },
    {
      rpc: "printer.objects.subscribe",
      http: { verb: "POST", path: "/printer/objects/subscribe" },
      handler: (args, rc) =>
        guarded(() => {
          const request = parseObjectRequest(args);
          const id = subscriber(args, rc, (c) => printer.connected(c));
          printer.requireConnected();
          // Without a WebSocket there is nothing to push to: answer like a query.
          return id === null ? printer.query(request) : printer.subscribe(id, request);
        }),
    },
    {
      rpc: "printer.gcode.script",
      http: { verb: "POST", path: "/printer/gcode/script" },
      handler: (args) =>
        guarded(() => {
          const script = args.str("script");
          printer.requireConnected();
          return printer.runScript(script);
        }),
    },
    // An empty dict: Home Assistant turns each entry into a button (HA:button.py:174-186).
    {
      rpc: "printer.gcode.help",
      http: { verb: "GET", path: "/printer/gcode/help" },
      handler: () =>
        guarded(() => {
          printer.requireConnected();
          return {};
        }),
    },
    {
      rpc: "server.temperature_store",
      http: { verb: "GET", path: "/server/temperature_store" },
      handler: () => printer.temperatures.toJSON(),
    },
    {
      rpc: "server.gcode_store",
      http: { verb: "GET", path: "/server/gcode_store" },
      handler: (args) => {
        const count = args.int("count", GCODE_STORE_SIZE);
        return { gcode_store: printer.gcodes.last(Math.min(Math.max(count, 0), GCODE_STORE_SIZE)) };
      },
    },
  ];
  for (const c of CONTROL) {
    methods.push({
      rpc: c.rpc,
      http: { verb: "POST", path: c.path },
      handler: () => {
        throw asApiError(printer.refuse(c.what));
      },
    });
  }
  return methods;
}
