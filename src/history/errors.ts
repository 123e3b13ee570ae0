// Errors of the storage layer: a stable code, a message a person can act on, the offending value.

export type HistoryErrorCode = "journal_corrupt" | "snapshot_corrupt" | "record_corrupt" | "storage_failed" | "store_closed";

export class HistoryError extends Error {
  constructor(
    readonly code: HistoryErrorCode,
    message: string,
    readonly detail: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "HistoryError";
  }
}
