// The job record, statuses and totals: Moonraker's history vocabulary, plus printlog's own extras.

/** Statuses Moonraker clients know (Mainsail translates exactly these). Emit no others. */
export type JobStatus =
  | "in_progress"
  | "completed"
  | "cancelled"
  | "error"
  | "klippy_shutdown"
  | "klippy_disconnect"
  | "server_exit"
  | "interrupted";

/** Statuses a running job can be finished with; each counts once in the totals. */
export type FinishStatus = Exclude<JobStatus, "in_progress" | "interrupted">;

export const FINISH_STATUSES: ReadonlySet<FinishStatus> = new Set<FinishStatus>([
  "completed",
  "cancelled",
  "error",
  "klippy_shutdown",
  "klippy_disconnect",
  "server_exit",
]);

export const ALL_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>([
  "in_progress",
  ...FINISH_STATUSES,
  "interrupted",
]);

export interface AuxField {
  provider: string;
  name: string;
  value: unknown;
  description: string;
  units: string | null;
}

export interface AuxTotal {
  provider: string;
  field: string;
  maximum: number | null;
  total: number | null;
}

/** One entry of a job's timeline: every inferred transition with its cause. */
export interface TimelineEntry {
  time: number;
  event: string;
  detail?: string;
}

/** A job as stored. `exists` is not stored: it is computed on every read. */
export interface JobRecord {
  job_id: string;
  user: string;
  filename: string;
  status: JobStatus;
  start_time: number;
  end_time: number | null;
  print_duration: number;
  total_duration: number;
  filament_used: number;
  metadata: Record<string, unknown>;
  auxiliary_data: AuxField[];
  /** printlog's extras (clients ignore unknown keys). */
  paused: boolean;
  progress: number | null;
  filament_source: string | null;
  /** The printer's own (8.3) name of the file, to recognise it when re-adopting a print. */
  printer_file: string | null;
  error_message: string | null;
  last_checkpoint: number | null;
  timeline: TimelineEntry[];
}

export interface JobTotals {
  total_jobs: number;
  total_time: number;
  total_print_time: number;
  total_filament_used: number;
  longest_job: number;
  longest_print: number;
}

export function zeroTotals(): JobTotals {
  return {
    total_jobs: 0,
    total_time: 0,
    total_print_time: 0,
    total_filament_used: 0,
    longest_job: 0,
    longest_print: 0,
  };
}

/** Which aux fields carry totals, and how: Moonraker's report_total / report_maximum. */
export interface AuxTotalSpec {
  provider: string;
  field: string;
  reportTotal: boolean;
  reportMaximum: boolean;
  precision: number | null;
}

/** Formats a numeric job id the way Moonraker does: uppercase hex, at least 6 digits. */
export function formatJobId(n: number): string {
  return n.toString(16).toUpperCase().padStart(6, "0");
}

/** Parses a client-supplied uid as hex (`1`, `00000a`, `0x1F` all work); null when it is not hex. */
export function parseJobId(uid: string): number | null {
  const s = uid.trim().replace(/^0[xX]/, "");
  if (s.length === 0 || s.length > 12 || !/^[0-9a-fA-F]+$/.test(s)) return null;
  return Number.parseInt(s, 16);
}
