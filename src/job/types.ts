// The job reducer's state, inputs and effects. The reducer decides; the recorder carries out.

import type { FinishStatus } from "../history/types.js";
import type { Dialect, PrinterEvent } from "../protocol/events.js";

export type RecorderInput =
  | PrinterEvent
  | { type: "tick" }
  /** A command another host sent, read from its log (`printlog replay` of `Send:` lines). */
  | { type: "host_sent"; command: string }
  | { type: "link_up" }
  | { type: "link_lost"; reason: string };

export type FilamentSource = "m78" | "m114" | "prusa_m78";

export interface SdFile {
  sfn: string;
  size: number | null;
  long: string | null;
  modified: number | null;
}

/** Filament of one job from every source at once, so the best one still available decides
 *  (a screen abort clears Marlin's queue and its M78 answer is lost; a halt answers nothing). */
export interface FilamentTrack {
  /** Which source the figure comes from (the best still available). */
  source: FilamentSource | null;
  /** The job's figure, mm. */
  used: number;
  /** Net E since the start from M114, mm (G92 resets followed). */
  eUsed: number;
  eLast: number | null;
  /** An M114 answer was seen during the job. */
  eSeen: boolean;
  /** PRINTCOUNTER's lifetime filament at the job's start, mm. */
  m78Start: number | null;
  /** The last M78 reading minus the baseline, mm. */
  m78Used: number | null;
  /** After a restart of printlog: what the job had recorded, and whether E continuity is unknown. */
  adoptedUsed: number | null;
}

export interface ActiveJob {
  filename: string;
  sfn: string | null;
  /** The start time was extrapolated; the firmware's print timer may correct it once. */
  startEstimated?: boolean;
  /** The print timer may date the start no earlier than this (a selection's last idle report). */
  startAfter?: number;
  /** A screen-start job whose file is open but not printing (a host's M23 without M24 yet):
   *  when its last `Not SD printing` came. Its start is the first rise, not the selection. */
  awaitingSince?: number;
  /** True while the filename is a placeholder until `M27 C` names the file. */
  nameUnknown: boolean;
  /** Shown at a screen's `File opened`/`File selected`; dropped if the position never rises. */
  tentative: boolean;
  /** The pause was inferred from a standing position (the firmware printed nothing). */
  pauseInferred: boolean;
  /** M114's X/Y/Z and when they last changed: a moving toolhead is not paused. */
  xyz: string | null;
  xyzAt: number;
  /** SD reports since the last rise (a standing position), and when the last report came. */
  standing: number;
  seenAt: number;
  size: number | null;
  startedAt: number;
  paused: boolean;
  pausedAt: number | null;
  pausedTotal: number;
  /** First SD position reported after a pause began; a rise past it means printing again. */
  pausePos: number | null;
  pos: number;
  /** When `pos` last rose (the last sign of printing), and the byte rate between the last two rises. */
  posAt: number;
  rate: number;
  progress: number | null;
  m73: boolean;
  notPrinting: { count: number; since: number } | null;
  filament: FilamentTrack;
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
  /** The first SD position seen after the end: after `Done printing file` (M1001 half-way) the
   *  job re-opens only if the position rises past it. */
  posAfter: number | null;
  /** Whether the job had been ending by `Not SD printing` strikes (a later carry-on from the
   *  same byte means the gap was a pause). */
  byStrikes: boolean;
  filament: FilamentTrack;
  /** A closing reading is awaited: later readings within the window amend the figure. */
  closingUntil: number;
  startedAt: number;
  pausedTotal: number;
  prusaStatsStart: number | null;
}

export interface UndatedFile {
  key: string;
  /** RRF: the folder that holds it, relative to `0:/gcodes`. */
  folder: string;
  since: number;
  /** A bare name's date found in a subfolder during the current listing (null: in two, or undated). */
  inFolder?: number | null;
}

export interface RecorderState {
  dialect: Dialect;
  caps: Record<string, boolean>;
  firmware: string | null;
  selected: { name: string | null; sfn: string | null; size: number | null; at: number; byHost?: boolean; opened?: boolean } | null;
  /** When the last `echo:busy:` keep-alive arrived: the firmware is blocked in a command. */
  lastBusyAt: number;
  /** The last M114 E and M78 filament read while no job ran: a new job's baselines (a query
   *  sent at its start is answered only after it may have extruded). */
  idleE: number | null;
  idleM78: number | null;
  /** The last unrecognised line: on Prusa, M27 names the file on the line before the bytes. */
  lastOther: string | null;
  lastProgress: { pos: number; size: number; at: number } | null;
  job: ActiveJob | null;
  pendingDone: { at: number } | null;
  lastError: { message: string; at: number } | null;
  lastClosed: ClosedJob | null;
  files: Record<string, SdFile>;
  inFileList: boolean;
  /** When an RRF JSON listing cut at the line cap began: its pieces follow until its `ok`. */
  jsonListSince: number | null;
  /** Pages of the current RRF JSON listing asked for so far (every folder of one walk). */
  listPages: number;
  /** RRF: folders still to list, breadth-first, how many this walk has taken, and when the
   *  reducer last asked for a page or folder of it. */
  walk: { queue: string[]; taken: number; askedAt: number | null };
  /** The last job's file when the card had no date for it (listing not done yet, or the file
   *  newer than it): its listing key. Cleared by the next job, a drop, or UNDATED_KEEP_S. */
  undated: UndatedFile | null;
  /** Whether the last card listing with files carried dates (a Marlin 2 build without
   *  M20_TIMESTAMP_SUPPORT ignores `T`); null before one. And the current listing's counts. */
  cardDated: boolean | null;
  listDates: { entries: number; dated: number };
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
  | { kind: "update"; time: number; fields: Partial<JobFields> & { filename?: string; printer_file?: string; start_time?: number; metadata?: Record<string, unknown> } }
  | { kind: "pause"; time: number; fields: JobFields; reason: string }
  | { kind: "resume"; time: number; fields: JobFields; reason: string }
  | { kind: "finish"; time: number; status: FinishStatus; fields: JobFields; reason: string; errorMessage: string | null; closingReadings: number }
  /** A job shown at a screen start that never printed: removed from the history. */
  | { kind: "drop"; time: number; reason: string }
  /** Evidence to keep with the job (journalled in its timeline), e.g. a filament baseline. */
  | { kind: "note"; time: number; event: string; detail: string }
  | { kind: "reopen"; time: number; jobId: string | null; reason: string }
  | { kind: "amend_filament"; jobId: string | null; filament_used: number; source: FilamentSource }
  /** The card's date of the last job's file, found after the job was named: the running job
   *  or, once it ended, that job. */
  | { kind: "file_date"; time: number; modified: number }
  | { kind: "query"; command: string };
