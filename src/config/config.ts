// printlog's configuration: defaults, the INI file, environment variables and CLI flags (in that
// order of precedence, last wins), validated with errors that name the key and the bad value.

import { readFileSync } from "node:fs";
import { parseIni, IniError, type IniSection } from "./ini.js";
import { DEFAULT_TRUSTED, parseTrusted } from "../api/access.js";
import { hostPattern, parseOriginPattern } from "../api/host-patterns.js";
import type { LogLevel } from "../log.js";

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  logLevel: LogLevel;
  maxWebsocketConnections: number;
}

export interface AuthConfig {
  trustedClients: string[];
  corsDomains: string[];
  /** Host header values accepted besides this machine's own names and addresses. */
  allowedHosts: string[];
  apiKey: string | null;
}

export interface PrinterConfig {
  /** `auto`, `none`, or a device path. */
  device: string;
  baud: number;
  /** Tried when the handshake gets no answer at `baud`. */
  fallbackBauds: number[];
  gcodeDir: string | null;
  /** `Not SD printing` must repeat this many times over `cancelSeconds` to mean a cancel. */
  cancelCount: number;
  cancelSeconds: number;
  pollIdleSeconds: number;
  pollPrintingSeconds: number;
  commandTimeoutSeconds: number;
}

export interface HistoryConfig {
  checkpointInterval: number;
}

export interface Config {
  server: ServerConfig;
  auth: AuthConfig;
  printer: PrinterConfig;
  history: HistoryConfig;
  /** Sections not handled here (sensors, serial rules, spoolman), validated by their owners. */
  sections: IniSection[];
  warnings: string[];
  source: string | null;
}

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
    readonly value?: unknown,
  ) {
    super(message);
    this.name = "ConfigError";
  }
}

export function defaultConfig(): Config {
  return {
    server: { host: "0.0.0.0", port: 7125, dataDir: "./data", logLevel: "info", maxWebsocketConnections: 50 },
    auth: { trustedClients: [...DEFAULT_TRUSTED], corsDomains: [], allowedHosts: [], apiKey: null },
    printer: {
      device: "auto",
      baud: 115200,
      fallbackBauds: [250000],
      gcodeDir: null,
      cancelCount: 3,
      cancelSeconds: 5,
      pollIdleSeconds: 10,
      pollPrintingSeconds: 2,
      commandTimeoutSeconds: 30,
    },
    history: { checkpointInterval: 30 },
    sections: [],
    warnings: [],
    source: null,
  };
}

// ---- value parsers: each names the key and the bad value ----

export function parseIntValue(key: string, value: string, min: number, max: number): number {
  const t = value.trim();
  const n = /^[+-]?\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(key, `${key}: expected a whole number from ${min} to ${max}, got '${value}'`, value);
  }
  return n;
}

export function parseNumberValue(key: string, value: string, min: number, max: number): number {
  const t = value.trim();
  const n = t === "" ? NaN : Number(t);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new ConfigError(key, `${key}: expected a number from ${min} to ${max}, got '${value}'`, value);
  }
  return n;
}

export function parseBoolValue(key: string, value: string): boolean {
  const t = value.trim().toLowerCase();
  if (["true", "yes", "on", "1"].includes(t)) return true;
  if (["false", "no", "off", "0"].includes(t)) return false;
  throw new ConfigError(key, `${key}: expected true or false, got '${value}'`, value);
}

export function parseListValue(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** A list whose every entry must pass `check` (which throws an Error naming the entry). */
function checkedList(key: string, value: string, check: (entry: string) => unknown): string[] {
  const list = parseListValue(value);
  for (const entry of list) {
    try {
      check(entry);
    } catch (e) {
      throw new ConfigError(key, `${key}: ${(e as Error).message}`, value);
    }
  }
  return list;
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

function parseLogLevel(key: string, value: string): LogLevel {
  const v = value.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(v)) {
    throw new ConfigError(key, `${key}: expected one of ${LOG_LEVELS.join(", ")}, got '${value}'`, value);
  }
  return v as LogLevel;
}

type Setter = (cfg: Config, value: string, key: string) => void;

/** Every key printlog reads, by section. Keys not listed here are warnings, not errors. */
const KEYS: Record<string, Record<string, Setter>> = {
  server: {
    host: (c, v) => (c.server.host = v.trim()),
    port: (c, v, k) => (c.server.port = parseIntValue(k, v, 0, 65535)),
    data_dir: (c, v) => (c.server.dataDir = v.trim()),
    log_level: (c, v, k) => (c.server.logLevel = parseLogLevel(k, v)),
    max_websocket_connections: (c, v, k) => (c.server.maxWebsocketConnections = parseIntValue(k, v, 1, 10_000)),
  },
  authorization: {
    trusted_clients: (c, v, k) => {
      const list = parseListValue(v);
      try {
        parseTrusted(list);
      } catch (e) {
        throw new ConfigError(k, `${k}: ${(e as Error).message}`, v);
      }
      c.auth.trustedClients = list;
    },
    cors_domains: (c, v, k) => (c.auth.corsDomains = checkedList(k, v, parseOriginPattern)),
    allowed_hosts: (c, v, k) => (c.auth.allowedHosts = checkedList(k, v, (h) => h.trim() === "*" || hostPattern(h))),
    api_key: (c, v, k) => {
      const t = v.trim();
      if (t.length < 16 || /\s/.test(t)) throw new ConfigError(k, `${k}: must be at least 16 characters without spaces`, "<hidden>");
      c.auth.apiKey = t;
    },
  },
  printer: {
    device: (c, v, k) => {
      const t = v.trim();
      if (t !== "auto" && t !== "none" && !t.startsWith("/")) {
        throw new ConfigError(k, `${k}: expected 'auto', 'none' or an absolute device path, got '${v}'`, v);
      }
      c.printer.device = t;
    },
    baud: (c, v, k) => (c.printer.baud = parseIntValue(k, v, 1200, 4_000_000)),
    fallback_bauds: (c, v, k) => (c.printer.fallbackBauds = parseListValue(v).map((b) => parseIntValue(k, b, 1200, 4_000_000))),
    gcode_dir: (c, v) => (c.printer.gcodeDir = v.trim() === "" ? null : v.trim()),
    cancel_not_printing_count: (c, v, k) => (c.printer.cancelCount = parseIntValue(k, v, 2, 100)),
    cancel_not_printing_seconds: (c, v, k) => (c.printer.cancelSeconds = parseNumberValue(k, v, 0, 3600)),
    poll_idle_seconds: (c, v, k) => (c.printer.pollIdleSeconds = parseNumberValue(k, v, 1, 3600)),
    poll_printing_seconds: (c, v, k) => (c.printer.pollPrintingSeconds = parseNumberValue(k, v, 0.5, 60)),
    command_timeout_seconds: (c, v, k) => (c.printer.commandTimeoutSeconds = parseNumberValue(k, v, 1, 600)),
  },
  history: {
    checkpoint_interval: (c, v, k) => (c.history.checkpointInterval = parseNumberValue(k, v, 30, 3600)),
  },
};

/** Sections owned by other modules (validated there). */
const FOREIGN_SECTION = /^(sensor \S+|serial_rule \S+|spoolman|mqtt)$/;

export function applyIni(cfg: Config, text: string, file: string): Config {
  let sections: IniSection[];
  try {
    sections = parseIni(text, file);
  } catch (e) {
    if (e instanceof IniError) throw new ConfigError(`${file}:${e.line}`, e.message);
    throw e;
  }
  for (const section of sections) {
    const setters = KEYS[section.name];
    if (!setters) {
      if (FOREIGN_SECTION.test(section.name)) cfg.sections.push(section);
      else cfg.warnings.push(`${file}:${section.line}: unknown section [${section.name}] ignored`);
      continue;
    }
    for (const [key, { value, line }] of section.options) {
      const set = setters[key];
      const name = `${section.name}.${key}`;
      if (!set) {
        cfg.warnings.push(`${file}:${line}: unknown option '${name}' ignored`);
        continue;
      }
      try {
        set(cfg, value, name);
      } catch (e) {
        if (e instanceof ConfigError) throw new ConfigError(name, `${file}:${line}: ${e.message}`, e.value);
        throw e;
      }
    }
  }
  cfg.source = file;
  return cfg;
}

/** Environment variables that override the file: PRINTLOG_<SECTION>_<KEY> for the common ones. */
export const ENV_KEYS: Record<string, [string, string]> = {
  PRINTLOG_HOST: ["server", "host"],
  PRINTLOG_HTTP_PORT: ["server", "port"],
  PRINTLOG_DATA_DIR: ["server", "data_dir"],
  PRINTLOG_LOG_LEVEL: ["server", "log_level"],
  PRINTLOG_DEVICE: ["printer", "device"],
  PRINTLOG_BAUD: ["printer", "baud"],
  PRINTLOG_GCODE_DIR: ["printer", "gcode_dir"],
  PRINTLOG_API_KEY: ["authorization", "api_key"],
  PRINTLOG_CORS_DOMAINS: ["authorization", "cors_domains"],
  PRINTLOG_TRUSTED_CLIENTS: ["authorization", "trusted_clients"],
  PRINTLOG_ALLOWED_HOSTS: ["authorization", "allowed_hosts"],
};

export function setOption(cfg: Config, section: string, key: string, value: string, origin: string): void {
  const set = KEYS[section]?.[key];
  if (!set) throw new ConfigError(`${section}.${key}`, `unknown option ${section}.${key}`);
  try {
    set(cfg, value, `${section}.${key}`);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(e.key, `${origin}: ${e.message}`, e.value);
    throw e;
  }
}

export interface LoadOptions {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** CLI flags as [section, key, value, flag name], applied last. */
  overrides?: [string, string, string, string?][];
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const cfg = defaultConfig();
  const env = opts.env ?? {};
  const file = opts.file ?? env["PRINTLOG_CONFIG"];
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new ConfigError("--config", `cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
    }
    applyIni(cfg, text, file);
  }
  for (const [name, [section, key]] of Object.entries(ENV_KEYS)) {
    const v = env[name];
    if (v !== undefined && v !== "") setOption(cfg, section, key, v, `environment ${name}`);
  }
  for (const [section, key, value, flag] of opts.overrides ?? []) setOption(cfg, section, key, value, `--${flag ?? key.replace(/_/g, "-")}`);
  return cfg;
}
