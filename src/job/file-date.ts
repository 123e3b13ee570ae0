// A job's file dated from the card (`metadata.modified`) when the date is not known as the job
// is named — the listing not done yet, or the file copied on after it: the job waits for its
// file's entry, its folder is listed at the next safe moment, and the date goes to the job
// (running or ended) when the entry arrives.

import { rrfListCommand } from "../protocol/rrf-file-list.js";
import { cardEntry, stripPath } from "./naming.js";
import type { Reduction } from "./reduction.js";
import type { RecorderState, SdFile } from "./types.js";

/** A job waits this long for its file's date; the next listing after it has long come. */
export const UNDATED_KEEP_S = 3600;

/** Whether this firmware's listing dates files: RRF (`M20 S3`), Prusa MK3 (`M20 L T`), Marlin 2
 *  unless its last listing with files carried no date (a build without M20_TIMESTAMP_SUPPORT
 *  ignores the `T`; no `Cap:` line tells, M115.cpp). Marlin 1.x and Buddy never do. */
export function cardCanDate(s: RecorderState): boolean {
  if (s.dialect === "rrf") return true;
  if (s.dialect !== "marlin2" && s.dialect !== "prusa_mk3") return false;
  return s.cardDated !== false;
}

/** The card's date of the file a job was just named after (its 8.3 name, else its path on the
 *  card), or null; without one the job waits for it (replacing any job waiting before). RRF
 *  answers `M20` during a print — the listing takes only the file-system lock, which a print
 *  does not hold (`GCodes2.cpp` case 20, `LockFileSystem`), as DWC's file lists do — so there
 *  the job's folder is listed at once; elsewhere the card is listed when the printer is idle
 *  (serial/poll-plan.ts), as `M20` during a print is unverified (serial-protocol.md §5 q. 9). */
export function dateOrAwait(r: Reduction, sfn: string | null, filename: string | null): number | null {
  const s = r.s;
  s.undated = null;
  const entry: SdFile | undefined = inAnyFolder(s, sfn) ?? (filename ? inAnyFolder(s, stripPath(filename)) : undefined);
  if (entry?.modified) return entry.modified;
  const key = s.dialect === "rrf" ? (filename ? stripPath(filename) : null) : (sfn ?? (filename ? stripPath(filename) : null));
  if (!key || !cardCanDate(s)) return null;
  const slash = key.lastIndexOf("/");
  s.undated = { key: key.toLowerCase(), folder: slash === -1 ? "" : key.slice(0, slash), since: r.now };
  if (s.dialect === "rrf" && s.job) {
    const cmd = rrfListCommand(s.undated.folder);
    if (cmd) r.emit({ kind: "query", command: cmd });
  }
  return null;
}

/** The listing's entry for a name, or for a bare name the one file of that name in a
 *  subfolder: Marlin lists `SUB/FILE.GCO`, but a screen start there prints only `File opened:
 *  file.gco` (`cardreader.cpp` `openFileRead()`). Two of that name in different folders: none.
 *  RRF always names the whole path (M409). */
function inAnyFolder(s: RecorderState, name: string | null): SdFile | undefined {
  const exact = cardEntry(s, name);
  if (exact || !name || name.includes("/") || s.dialect === "rrf") return exact;
  const tail = "/" + name.toLowerCase();
  let found: SdFile | undefined;
  for (const k in s.files) {
    if (!k.endsWith(tail)) continue;
    if (found) return undefined;
    found = s.files[k];
  }
  return found;
}

/** A listing entry arrived: the waiting job gets its date — at once for its own name, at the
 *  listing's end for a bare name found in one subfolder only. */
export function entryListed(r: Reduction, key: string, entry: SdFile): void {
  const u = r.s.undated;
  if (!u) return;
  if (u.key === key) {
    r.s.undated = null;
    if (entry.modified !== null) r.emit({ kind: "file_date", time: r.now, modified: entry.modified });
  } else if (r.s.dialect !== "rrf" && !u.key.includes("/") && key.endsWith("/" + u.key)) {
    u.inFolder = u.inFolder === undefined ? entry.modified : null;
  }
}

/** The end of an `M20` listing: a bare name found in exactly one subfolder is that file. */
export function listingOver(r: Reduction): void {
  const u = r.s.undated;
  if (!u || u.inFolder === undefined) return;
  const modified = u.inFolder;
  u.inFolder = undefined;
  if (modified === null) return;
  r.s.undated = null;
  r.emit({ kind: "file_date", time: r.now, modified });
}

export function expireUndated(s: RecorderState, now: number): void {
  if (s.undated && now - s.undated.since > UNDATED_KEEP_S) s.undated = null;
}
