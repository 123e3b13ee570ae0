// Warnings about refused requests, and routine lines a client can cause at will, throttled per
// kind: a hostile client can send thousands of requests a second, and each must not become a log
// line (the log is on the SD card, and the recent log clients show is a small ring).

import type { Logger } from "../log.js";

export class RefusalLog {
  private readonly last = new Map<string, { at: number; lines: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** One line per kind per interval. */
  warn(event: string, fields: Record<string, unknown>): void {
    this.emit("warn", event, fields, 1);
  }

  /**
   * Lines of a routine kind (a WebSocket opened or closed): up to `burst` per interval, so a
   * client reconnecting in a loop cannot flood the log; the next line says how many were left out.
   */
  routine(level: "info" | "warn", event: string, fields: Record<string, unknown>, burst = 20): void {
    this.emit(level, event, fields, burst);
  }

  private emit(level: "info" | "warn", event: string, fields: Record<string, unknown>, burst: number): void {
    const t = this.now();
    let seen = this.last.get(event);
    if (!seen || t - seen.at >= this.intervalMs) {
      // A new interval; what was left out in the last one is counted on its first line.
      seen = { at: t, lines: 0, suppressed: seen?.suppressed ?? 0 };
      this.last.set(event, seen);
    }
    if (seen.lines >= burst) {
      seen.suppressed++;
      return;
    }
    seen.lines++;
    const extra = seen.suppressed > 0 ? { similar_since_last: seen.suppressed } : {};
    seen.suppressed = 0;
    this.logger[level](event, { ...fields, ...extra });
  }
}

/** A header value for a log line or an error message: bounded. */
export const shown = (v: string | undefined): string | undefined => (v === undefined || v.length <= 100 ? v : `${v.slice(0, 100)}…`);
