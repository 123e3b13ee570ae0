// What every subcommand shares: exit codes, errors that say what to do, config from flags.

import { parseArgs, type ParseArgsConfig } from "node:util";
import { loadConfig, type Config } from "../config/config.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {}

export const CONFIG_FLAGS = {
  config: { type: "string" },
  "data-dir": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export function parse<T extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: T, positionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: positionals });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Config from the file, the environment, then the flags (section, key, flag name). */
export function configFrom(values: Record<string, unknown>, flags: [string, string, string][] = []): Config {
  const overrides: [string, string, string, string][] = [];
  for (const [section, key, flag] of [["server", "data_dir", "data-dir"] as [string, string, string], ...flags]) {
    const v = values[flag];
    if (typeof v === "string") overrides.push([section, key, v, flag]);
  }
  return loadConfig({ file: values["config"] as string | undefined, env: process.env, overrides });
}

/** Formats seconds as H:MM:SS. */
export function hms(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n") + "\n";
}

/** A time flag: unix seconds or an ISO date/time. */
export function parseTime(flag: string, value: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`--${flag}: expected unix seconds or a date like 2026-11-24 or 2026-11-24T10:00:00Z, got '${value}'`);
  return t / 1000;
}
