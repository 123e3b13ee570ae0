// Typed events parsed from printer lines. Parsing is pure and per line; what an event means for
// a job (which depends on the firmware and on what came before) is the job reducer's business.

export type Dialect = "marlin2" | "marlin1" | "prusa_mk3" | "prusa_buddy" | "rrf" | "klipper" | "smoothie" | "unknown";

/** halt/thermal/stopped/kill end a job; recoverable pauses it; protocol, sd and unknown_command
 *  are noise; other is remembered and decides `error` if the job then stops. */
export type ErrorKind = "halt" | "thermal" | "stopped" | "kill" | "recoverable" | "protocol" | "sd" | "unknown_command" | "other";

export type PrinterEvent =
  | { type: "ok"; temps?: Record<string, number> }
  | { type: "boot" }
  | { type: "reset_cause"; cause: string }
  | { type: "firmware"; name: string; version: string | null; dialect: Dialect; machine: string | null }
  | { type: "cap"; name: string; enabled: boolean }
  | { type: "file_opened"; name: string | null; size: number | null }
  | { type: "file_selected" }
  | { type: "fresh_file"; name: string }
  | { type: "open_failed"; name: string }
  | { type: "enqueued"; command: string }
  | { type: "sd_progress"; pos: number; size: number }
  | { type: "not_sd_printing" }
  | { type: "sd_paused" }
  | { type: "current_file"; sfn: string | null; long: string | null }
  | { type: "done_printing" }
  | { type: "rrf_stop"; reason: "finished" | "cancelled"; file: string }
  | { type: "print_time"; seconds: number }
  | { type: "elapsed"; minutes: number }
  | { type: "action"; action: string; arg: string }
  | { type: "error"; kind: ErrorKind; message: string }
  | { type: "busy"; reason: string }
  | { type: "temperature"; temps: Record<string, number> }
  | { type: "position"; e: number | null; eCount: number | null; xyz?: string }
  | { type: "stats_counts"; prints: number; finished: number; failed: number }
  | { type: "stats_filament"; mm: number }
  | { type: "prusa_stats"; minutes: number; mm: number }
  | { type: "m73"; percent: number | null; remainingMin: number | null }
  | { type: "file_list_begin" }
  | { type: "file_list_entry"; sfn: string; size: number | null; long: string | null; modified: number | null }
  | { type: "file_list_end" }
  /** RRF's JSON listing (`M20 S3`): the files and folders of one page of a folder (`dir`,
   *  relative to `0:/gcodes`; null: elsewhere), and where the next page starts
   *  (`M20 S3 R<resume>`) when the page was cut or the firmware said there is more. */
  | { type: "file_list_json"; dir: string | null; first: number; files: CardFile[]; folders: string[]; resume: number | null; cut: boolean }
  | { type: "resend"; line: number }
  | { type: "other"; text: string };

/** A file on the printer's card with its date (seconds since the epoch) where the firmware gives one. */
export interface CardFile {
  name: string;
  size: number | null;
  modified: number | null;
}

export const MAX_LINE_LENGTH = 1024;

/** Cleans a raw line from the wire: caps it, strips CR, NUL and other control characters. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\0-\x08\x0b-\x1f\x7f]/;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\0-\x08\x0b-\x1f\x7f]/g;

export function cleanLine(raw: string): string {
  const capped = raw.length > MAX_LINE_LENGTH ? raw.slice(0, MAX_LINE_LENGTH) : raw;
  return (CONTROL.test(capped) ? capped.replace(CONTROLS, "") : capped).trim();
}
