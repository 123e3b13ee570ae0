// The job reducer's state, inputs and effects. The reducer decides; the recorder carries out.

import type { FinishStatus } from "../history/types.js";
import type { Dialect, PrinterEvent } from "../protocol/events.js";

export type RecorderInput =
  | PrinterEvent
  | { type: "tick" }
  | { type: "link_up" }
  | { type: "link_lost"; reason: string };

export type FilamentSource = "m78" | "m114" | "prusa_m78";

export interface SdFile {
  sfn: string;
  size: number | null;
  long: string | null;
  modified: number | null;
}

export interface ActiveJob {
  filename: string;
  sfn: string | null;
  /** The start time was extrapolated; the firmware's print timer may correct it once. */
  startEstimated?: boolean;
  /** True while the filename is a placeholder until `M27 C` names the file. */
  nameUnknown: boolean;
  size: number | null;
  startedAt: number;
  paused: boolean;
  pausedAt: number | null;
  pausedTotal: number;
  /** First SD position reported after a pause began; a rise past it means printing again. */
  pausePos: number | null;
  pos: number;
  /** When `pos` was reported, and the byte rate between the last two reports. */
  posAt: number;
  rate: number;
  progress: number | null;
  m73: boolean;
  notPrinting: { count: number; since: number } | null;
  filament: { source: FilamentSource | null; used: number; eLast: number | null; m78Start: number | null };
  statsBaseline: { finished: number; failed: number } | null;
  errors: string[];
}

/** A job that ended recently and may turn out to still be running (M1001, link loss, restart). */
export interface ClosedJob {
  jobId: string | null;
  filename: string;
  sfn: string | null;
  size: number | null;
  pos: number;
  endedAt: number;
  status: FinishStatus | "interrupted";
  /** Until when a rising SD position for the same file re-opens it. */
  reopenUntil: number;
  filament: ActiveJob["filament"];
  startedAt: number;
  pausedTotal: number;
  prusaStatsStart: number | null;
}

export interface RecorderState {
  dialect: Dialect;
  caps: Record<string, boolean>;
  firmware: string | null;
  selected: { name: string | null; sfn: string | null; size: number | null; at: number } | null;
  /** The last unrecognised line: on Prusa, M27 names the file on the line before the bytes. */
  lastOther: string | null;
  lastProgress: { pos: number; size: number; at: number } | null;
  job: ActiveJob | null;
  pendingDone: { at: number } | null;
  lastError: { message: string; at: number } | null;
  lastClosed: ClosedJob | null;
  files: Record<string, SdFile>;
  inFileList: boolean;
  stats: { finished: number; failed: number } | null;
  prusaStats: number | null;
}

export interface ReducerOptions {
  cancelCount: number;
  cancelSeconds: number;
}

export interface JobFields {
  print_duration: number;
  total_duration: number;
  filament_used: number;
  progress: number | null;
  filament_source: FilamentSource | null;
}

export type Effect =
  | { kind: "start"; time: number; filename: string; sfn: string | null; metadata: Record<string, unknown>; cause: string; filamentSource: FilamentSource | null }
  | { kind: "update"; time: number; fields: Partial<JobFields> & { filename?: string; start_time?: number; metadata?: Record<string, unknown> } }
  | { kind: "pause"; time: number; fields: JobFields; reason: string }
  | { kind: "resume"; time: number; fields: JobFields; reason: string }
  | { kind: "finish"; time: number; status: FinishStatus; fields: JobFields; reason: string; errorMessage: string | null }
  | { kind: "reopen"; time: number; jobId: string | null; reason: string }
  | { kind: "amend_filament"; jobId: string | null; filament_used: number; source: FilamentSource }
  | { kind: "query"; command: string };
