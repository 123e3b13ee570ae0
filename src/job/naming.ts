// Naming a job: the card's own spelling of a file (the LCD lower-cases 8.3 names, second round),
// the long name from the listing, and paths stripped to the card's root.

import type { RecorderState, SdFile } from "./types.js";

/** Relative to the card's root: drops RRF's `0:/gcodes/`, Buddy's `/usb/`, Smoothie's `/sd/`. */
export const stripPath = (name: string): string => name.replace(/^[0-9]:\//, "").replace(/^\/?(sd|usb|gcodes)\//i, "").replace(/^\/+/, "");

export const isShortName = (name: string): boolean => /^[^/]{1,8}\.[^/.]{1,3}$/.test(name);

/** The listing's entry for a name, whatever its case: `File opened: short.gco` is `SHORT.GCO`. */
export function cardEntry(s: RecorderState, name: string | null): SdFile | undefined {
  if (!name) return undefined;
  return s.files[name.toLowerCase()];
}

/** The card's spelling of an 8.3 name when the listing has it, else the name as given. */
export function cardSpelling(s: RecorderState, name: string | null): string | null {
  if (!name) return null;
  return cardEntry(s, name)?.sfn ?? name;
}

export function sameFile(a: { sfn: string | null; size: number | null }, sfn: string | null, size: number | null): boolean {
  if (size !== null && a.size !== null && size !== a.size) return false;
  if (sfn && a.sfn) return sfn.toLowerCase() === a.sfn.toLowerCase();
  return size !== null && a.size !== null;
}

export interface JobName {
  filename: string | null;
  sfn: string | null;
  /** The long name came from the card's listing (no need to ask M27 C). */
  listed: boolean;
}

/** Chooses a job's name: the listing's long name, a long name the firmware printed, the card's
 *  8.3 spelling, in that order. */
export function chooseName(s: RecorderState, opened: string | null, sfnHint: string | null): JobName {
  // Without a listing entry, of the spellings seen the upper-case one is the card's (FAT keeps
  // 8.3 names upper case; the LCD path and `Now fresh file` print them lower case).
  const shorts = [sfnHint, opened && isShortName(opened) ? opened : null].filter((n): n is string => n !== null);
  const given = shorts.find((n) => cardEntry(s, n)) ?? shorts.find((n) => n === n.toUpperCase() && (n.toLowerCase() === shorts[0]!.toLowerCase())) ?? shorts[0] ?? null;
  const sfn = cardSpelling(s, given);
  const listed = cardEntry(s, sfn)?.long ?? cardEntry(s, opened)?.long ?? null;
  if (listed) return { filename: listed, sfn, listed: true };
  if (opened && !isShortName(opened)) return { filename: opened, sfn, listed: false };
  return { filename: sfn ?? (opened ? cardSpelling(s, opened) : null), sfn, listed: false };
}
