// The printer's card as its listing shows it (`M20` lines, RRF's dated JSON pages `M20 S3` of
// every folder, breadth-first), each file kept with its size and date so a job on it is named
// and dated (`metadata.modified`).

import type { PrinterEvent } from "../protocol/events.js";
import { rrfListCommand } from "../protocol/rrf-file-list.js";
import { entryListed, listingOver } from "./file-date.js";
import type { Reduction } from "./reduction.js";
import type { RecorderState } from "./types.js";

/** Pages of one listing (every folder of an RRF card together) printlog asks for at most (a
 *  page is about a dozen files when cut at the line cap), files it keeps, and RRF folders it
 *  lists, at most this deep below `0:/gcodes`: a hostile or huge card can neither grow memory
 *  nor keep the line busy for ever. */
export const MAX_LIST_PAGES = 128;
export const MAX_CARD_FILES = 4096;
export const MAX_FOLDERS = 64;
export const MAX_FOLDER_DEPTH = 4;
/** The pieces of a cut JSON line come within this long, or the listing is over anyway. */
const JSON_PIECES_S = 10;
/** A first page of the top folder this soon after printlog asked for a later page or folder
 *  is no new listing: a firmware answering every `R` from the start cannot restart the count. */
const WALK_ANSWER_S = 60;

/** One line of an `M20` listing; a new name only while the card holds fewer than MAX_CARD_FILES. */
export function listedFile(r: Reduction, ev: Extract<PrinterEvent, { type: "file_list_entry" }>): void {
  const s = r.s;
  const key = ev.sfn.toLowerCase();
  if (!(key in s.files) && Object.keys(s.files).length >= MAX_CARD_FILES) return;
  const entry = { sfn: ev.sfn, size: ev.size, long: ev.long, modified: ev.modified };
  s.files[key] = entry;
  countDate(s, ev.modified);
  entryListed(r, key, entry);
}

/** `Begin file list` / `End file list`: whether this listing dated its files at all. */
export function listBegins(s: RecorderState): void {
  s.inFileList = true;
  s.listDates = { entries: 0, dated: 0 };
  if (s.undated) s.undated.inFolder = undefined;
}

export function listEnds(r: Reduction): void {
  const s = r.s;
  if (s.inFileList && s.listDates.entries > 0) s.cardDated = s.listDates.dated > 0;
  if (s.inFileList) listingOver(r);
  s.inFileList = false;
  endJsonListing(s);
}

function countDate(s: RecorderState, modified: number | null): void {
  s.listDates.entries += 1;
  if (modified !== null) s.listDates.dated += 1;
}

export function jsonListing(r: Reduction, ev: Extract<PrinterEvent, { type: "file_list_json" }>): void {
  const s = r.s;
  s.jsonListSince = ev.cut ? r.now : null;
  // A folder outside `0:/gcodes` is nothing printlog asked for.
  if (ev.dir === null) return;
  const top = ev.dir === "" && ev.first === 0 && (s.walk.askedAt === null || r.now - s.walk.askedAt > WALK_ANSWER_S);
  if (top) {
    s.listPages = 0;
    s.walk = { queue: [], taken: 1, askedAt: null };
  }
  s.listPages += 1;
  const prefix = ev.dir === "" ? "" : ev.dir + "/";
  let count = Object.keys(s.files).length;
  for (const f of ev.files) {
    const key = (prefix + f.name).toLowerCase();
    if (!(key in s.files)) {
      if (count >= MAX_CARD_FILES) break;
      count += 1;
    }
    // RRF names files by their long name only; there is no 8.3 alias to tell apart. A file in
    // a folder is known by its path below `0:/gcodes`, as the job names it (M409).
    const entry = { sfn: prefix + f.name, size: f.size, long: prefix + f.name, modified: f.modified };
    s.files[key] = entry;
    entryListed(r, key, entry);
  }
  const depth = ev.dir === "" ? 0 : ev.dir.split("/").length;
  if (depth < MAX_FOLDER_DEPTH) {
    for (const name of ev.folders) {
      if (s.walk.taken + s.walk.queue.length >= MAX_FOLDERS) break;
      const folder = prefix + name;
      if (!s.walk.queue.includes(folder) && rrfListCommand(folder, 99999) !== null) s.walk.queue.push(folder);
    }
  }
  if (s.listPages >= MAX_LIST_PAGES || count >= MAX_CARD_FILES) return;
  // The rest of this folder, then the next one: only while nothing prints (a job may have
  // started meanwhile), except the folder of a running job's file still waiting for its date.
  const forJob = s.undated !== null && s.undated.folder.toLowerCase() === ev.dir.toLowerCase();
  if (ev.resume !== null && (!s.job || forJob)) {
    const cmd = rrfListCommand(ev.dir, ev.resume);
    if (cmd) return ask(r, cmd);
  }
  if (s.job) return;
  const next = s.walk.queue.shift();
  if (next === undefined) return;
  s.walk.taken += 1;
  ask(r, rrfListCommand(next)!);
}

function ask(r: Reduction, command: string): void {
  r.s.walk.askedAt = r.now;
  r.emit({ kind: "query", command });
}

/** The pieces of a cut listing are over: its closing piece, its `ok`, a reset, a lost link, or
 *  time (`now` given: only once they are overdue). */
export function endJsonListing(s: RecorderState, now?: number): void {
  if (s.jsonListSince === null) return;
  if (now === undefined || now - s.jsonListSince > JSON_PIECES_S) s.jsonListSince = null;
}
