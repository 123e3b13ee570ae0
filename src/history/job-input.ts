// What callers hand the store when a job starts, what it announces, and the metadata clean-up
// Moonraker applies before storing.

import type { AuxField, JobRecord } from "./types.js";

export interface StartJobInput {
  filename: string;
  start_time: number;
  user?: string;
  metadata?: Record<string, unknown>;
  auxiliary_data?: AuxField[];
  filament_source?: string | null;
  printer_file?: string | null;
  cause?: string;
}

export interface HistoryChange {
  action: "added" | "finished";
  job: JobRecord;
}

/** Strips what Moonraker strips from stored metadata: job_id, print_start_time, thumbnail data. */
export function cleanMetadata(metadata: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!metadata || typeof metadata !== "object" || Array.isArray(metadata)) return {};
  const { job_id: _id, print_start_time: _pst, ...rest } = metadata;
  if (Array.isArray(rest["thumbnails"])) {
    rest["thumbnails"] = rest["thumbnails"].map((t: unknown) => {
      if (typeof t !== "object" || t === null) return t;
      const { data: _data, ...thumb } = t as Record<string, unknown>;
      return thumb;
    });
  }
  return rest;
}
