// The printer's card as its listing shows it (`M20` lines, RRF's dated JSON pages `M20 S3`), each
// file kept with its size and date so a job on it is named and dated (`metadata.modified`).

import type { PrinterEvent } from "../protocol/events.js";
import { RRF_LIST_COMMAND } from "../protocol/rrf-file-list.js";
import type { Reduction } from "./reduction.js";
import type { RecorderState } from "./types.js";

/** Pages of one listing printlog asks for at most (a page is about a dozen files when cut at
 *  the line cap), and files it keeps from a listing: a hostile card cannot grow it for ever. */
export const MAX_LIST_PAGES = 64;
export const MAX_CARD_FILES = 4096;
/** The pieces of a cut JSON line come within this long, or the listing is over anyway. */
const JSON_PIECES_S = 10;

/** One line of an `M20` listing; a new name only while the card holds fewer than MAX_CARD_FILES. */
export function listedFile(s: RecorderState, ev: Extract<PrinterEvent, { type: "file_list_entry" }>): void {
  const key = ev.sfn.toLowerCase();
  if (!(key in s.files) && Object.keys(s.files).length >= MAX_CARD_FILES) return;
  s.files[key] = { sfn: ev.sfn, size: ev.size, long: ev.long, modified: ev.modified };
}

export function jsonListing(r: Reduction, ev: Extract<PrinterEvent, { type: "file_list_json" }>): void {
  const s = r.s;
  if (ev.first === 0) s.listPages = 0;
  s.listPages += 1;
  let count = Object.keys(s.files).length;
  for (const f of ev.files) {
    const key = f.name.toLowerCase();
    if (!(key in s.files)) {
      if (count >= MAX_CARD_FILES) break;
      count += 1;
    }
    // RRF names files by their long name only; there is no 8.3 alias to tell apart.
    s.files[key] = { sfn: f.name, size: f.size, long: f.name, modified: f.modified };
  }
  s.jsonListSince = ev.cut ? r.now : null;
  // The next page only while nothing prints, as the first (a job may have started meanwhile).
  if (ev.resume !== null && !s.job && s.listPages < MAX_LIST_PAGES && count < MAX_CARD_FILES) {
    r.emit({ kind: "query", command: `${RRF_LIST_COMMAND} R${ev.resume}` });
  }
}

/** The pieces of a cut listing are over: its closing piece, its `ok`, a reset, a lost link, or
 *  time (`now` given: only once they are overdue). */
export function endJsonListing(s: RecorderState, now?: number): void {
  if (s.jsonListSince === null) return;
  if (now === undefined || now - s.jsonListSince > JSON_PIECES_S) s.jsonListSince = null;
}
