// M20 listings (`Begin file list` … `End file list`), with M20 L long names and M20 T times:
// `MYFILE.GCO 14129`, `MYFILE.GCO 14129 My File.gcode`, `NAME.GCO 14129 0x58a8b5ce "Long.gcode"`.

import type { PrinterEvent } from "./events.js";

/** Seconds since the epoch for a date as a card keeps it, or null when it is no real date (month
 *  13, 30 February, 25 o'clock, before FAT's 1980 or past its 2107). FAT stores wall-clock time
 *  without a zone, and firmware prints it as stored: printlog reads it as UTC. */
export function cardDate(year: number, month: number, day: number, hour: number, minute: number, second: number): number | null {
  if (![year, month, day, hour, minute, second].every(Number.isInteger)) return null;
  if (year < 1980 || year > 2107 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 30 February over into March: such a day does not exist.
  if (new Date(ms).getUTCDate() !== day) return null;
  return ms / 1000;
}

/** Decodes a FAT date/time packed as Marlin prints it for `M20 T` (date << 16 | time). */
export function fatTimestamp(hex: number): number | null {
  if (!Number.isInteger(hex) || hex < 0 || hex > 0xffffffff) return null;
  const date = (hex >>> 16) & 0xffff;
  const time = hex & 0xffff;
  return cardDate(1980 + (date >> 9), (date >> 5) & 0x0f, date & 0x1f, time >> 11, (time >> 5) & 0x3f, (time & 0x1f) * 2);
}

export function parseFileListEntry(line: string): PrinterEvent | null {
  if (line.startsWith("DIR_ENTER") || line.startsWith("DIR_EXIT")) return null;
  // A hex word after the size is the date (`M20 T`); one too long to be a FAT date is dropped.
  const m = /^(\S+)(?:\s+(\d+))?(?:\s+0x([0-9a-fA-F]+)(?=\s|$))?(?:\s+(.+))?$/.exec(line);
  if (!m) return null;
  let long = m[4]?.trim() ?? null;
  if (long && long.startsWith('"') && long.endsWith('"')) long = long.slice(1, -1);
  return {
    type: "file_list_entry",
    sfn: m[1]!.replace(/^\//, ""),
    size: m[2] === undefined || m[2].length > 15 ? null : Number(m[2]),
    long: long || null,
    modified: m[3] === undefined || m[3].length > 8 ? null : fatTimestamp(Number.parseInt(m[3], 16)),
  };
}
