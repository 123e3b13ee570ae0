// printlog's recent log kept in memory, so the clients' "download log" buttons have a file to
// fetch (the `logs` root, `moonraker.log` as they name it) even when the log itself goes to
// journald. Bounded: the oldest lines are dropped past MAX_BYTES.

import { formatLine, type LogFields, type Logger, type LogLevel } from "../log.js";

const MAX_BYTES = 1024 * 1024;
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export class LogRing {
  private lines: string[] = [];
  private bytes = 0;
  private head = 0;
  /** Time of the last line, for the file's `modified`. */
  modified = Date.now() / 1000;

  push(line: string): void {
    this.lines.push(line);
    this.bytes += Buffer.byteLength(line) + 1;
    this.modified = Date.now() / 1000;
    while (this.bytes > MAX_BYTES && this.head < this.lines.length) {
      this.bytes -= Buffer.byteLength(this.lines[this.head]!) + 1;
      this.head += 1;
    }
    if (this.head > 4096) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
  }

  text(): string {
    return this.lines.slice(this.head).join("\n") + (this.lines.length > this.head ? "\n" : "");
  }

  get size(): number {
    return this.bytes;
  }
}

/** A logger that writes through `inner` and also keeps lines at `minLevel` and above in `ring`. */
export function teeLogger(inner: Logger, ring: LogRing, minLevel: LogLevel = "info", base: LogFields = {}): Logger {
  const emit = (level: LogLevel) => (event: string, fields: LogFields = {}) => {
    inner[level](event, fields);
    if (RANK[level] >= RANK[minLevel]) ring.push(formatLine(level, event, { ...base, ...fields }, new Date()));
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    child: (fields) => teeLogger(inner.child(fields), ring, minLevel, { ...base, ...fields }),
  };
}
