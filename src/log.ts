// Structured logging: one line per event, `time level event key=value ...`, written to a sink.
// Injected everywhere so tests can read what was logged and two printers can log separately.

export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

function formatValue(v: unknown): string {
  if (typeof v === "string") return /^[\w./:@+-]*$/.test(v) && v.length > 0 ? v : JSON.stringify(v);
  if (v === undefined) return "null";
  return JSON.stringify(v) ?? "null";
}

export function formatLine(level: LogLevel, event: string, fields: LogFields, now: Date): string {
  let line = `${now.toISOString()} ${level.toUpperCase().padEnd(5)} ${event}`;
  for (const [k, v] of Object.entries(fields)) line += ` ${k}=${formatValue(v)}`;
  return line;
}

export function createLogger(
  write: (line: string) => void,
  minLevel: LogLevel = "info",
  base: LogFields = {},
  clock: () => Date = () => new Date(),
): Logger {
  const emit = (level: LogLevel) => (event: string, fields: LogFields = {}) => {
    if (RANK[level] < RANK[minLevel]) return;
    write(formatLine(level, event, { ...base, ...fields }, clock()));
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    child: (fields) => createLogger(write, minLevel, { ...base, ...fields }, clock),
  };
}

export const silentLogger: Logger = createLogger(() => undefined, "error");

/** A logger that keeps its lines, for tests and for `printlog replay` summaries. */
export function memoryLogger(minLevel: LogLevel = "debug"): Logger & { lines: string[] } {
  const lines: string[] = [];
  return Object.assign(createLogger((l) => lines.push(l), minLevel), { lines });
}

/** The first frames of an error's stack, on one line: where a fault of printlog happened. */
export function stackOf(err: unknown): string {
  const stack = err instanceof Error && typeof err.stack === "string" ? err.stack : "";
  return stack.split("\n").slice(1, 6).map((l) => l.trim()).join(" | ");
}
