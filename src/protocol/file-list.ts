// M20 listings (`Begin file list` … `End file list`), with M20 L long names and M20 T times:
// `MYFILE.GCO 14129`, `MYFILE.GCO 14129 My File.gcode`, `NAME.GCO 14129 0x58a8b5ce "Long.gcode"`.

import type { PrinterEvent } from "./events.js";

/** Decodes a FAT date/time packed as Marlin prints it for `M20 T` (date << 16 | time). */
export function fatTimestamp(hex: number): number | null {
  const date = (hex >>> 16) & 0xffff;
  const time = hex & 0xffff;
  const year = 1980 + (date >> 9);
  const month = (date >> 5) & 0x0f;
  const day = date & 0x1f;
  const hour = time >> 11;
  const minute = (time >> 5) & 0x3f;
  const second = (time & 0x1f) * 2;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  return Date.UTC(year, month - 1, day, hour, minute, second) / 1000;
}

export function parseFileListEntry(line: string): PrinterEvent | null {
  if (line.startsWith("DIR_ENTER") || line.startsWith("DIR_EXIT")) return null;
  const m = /^(\S+)(?:\s+(\d+))?(?:\s+0x([0-9a-fA-F]{1,8}))?(?:\s+(.+))?$/.exec(line);
  if (!m) return null;
  let long = m[4]?.trim() ?? null;
  if (long && long.startsWith('"') && long.endsWith('"')) long = long.slice(1, -1);
  return {
    type: "file_list_entry",
    sfn: m[1]!.replace(/^\//, ""),
    size: m[2] === undefined ? null : Number(m[2]),
    long: long || null,
    modified: m[3] === undefined ? null : fatTimestamp(Number.parseInt(m[3], 16)),
  };
}
