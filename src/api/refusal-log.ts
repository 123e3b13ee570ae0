// Warnings about refused requests, throttled per kind: a hostile client can send thousands of
// refused requests a second, and each must not become a log line (the log is on the SD card).

import type { Logger } from "../log.js";

export class RefusalLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(event: string, fields: Record<string, unknown>): void {
    const t = this.now();
    const seen = this.last.get(event);
    if (seen && t - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    const extra = seen && seen.suppressed > 0 ? { similar_since_last: seen.suppressed } : {};
    this.last.set(event, { at: t, suppressed: 0 });
    this.logger.warn(event, { ...fields, ...extra });
  }
}

/** A header value for a log line or an error message: bounded. */
export const shown = (v: string | undefined): string | undefined => (v === undefined || v.length <= 100 ? v : `${v.slice(0, 100)}…`);
