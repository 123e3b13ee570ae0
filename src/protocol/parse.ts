// Line -> typed event, composing the per-firmware modules. Pure; never throws.

import { cleanLine, type Dialect, type PrinterEvent } from "./events.js";
import { parseCapLine, parseFirmwareLine } from "./firmware.js";
import { parseFileListEntry } from "./file-list.js";
import { parseMarlinLine } from "./marlin.js";
import { parsePrusaLine } from "./prusa.js";
import { parseRrfLine, parseSmoothieLine } from "./rrf.js";
import { parseRrfFileList } from "./rrf-file-list.js";

export interface ParseContext {
  dialect: Dialect;
  /** Between `Begin file list` and `End file list`. */
  inFileList: boolean;
  /** After an RRF JSON listing cut at the line cap: the rest of it, up to its `ok`. */
  inJsonList?: boolean;
}

export const DEFAULT_CONTEXT: ParseContext = { dialect: "unknown", inFileList: false };

export function parseLine(raw: string, ctx: ParseContext = DEFAULT_CONTEXT): PrinterEvent {
  const line = cleanLine(raw);
  if (line === "") return { type: "other", text: "" };
  if (ctx.inFileList && line !== "End file list") {
    return parseFileListEntry(line) ?? { type: "other", text: line };
  }
  if (ctx.inJsonList && line !== "ok") {
    // The pieces of a cut listing are file names, not printer messages: a name such as
    // `Done printing file.gcode` must not end a job. Its closing piece ends the listing.
    return /\](?:,"next":\d+)?(?:,"err":\d+)?\}$/.test(line) ? { type: "file_list_end" } : { type: "other", text: "" };
  }
  // The commonest lines first, by their opening characters, so each line meets only the
  // patterns that can match it.
  const c = line.charCodeAt(0);
  if (c === 111 /* o */ && (line === "ok" || line.startsWith("ok ") || line.startsWith("ok:"))) {
    if (line.includes("FIRMWARE_NAME:")) return parseFirmwareLine(line)!;
    return parseMarlinLine(line) ?? { type: "ok" };
  }
  if (c === 83 /* S */ && line.startsWith("SD printing byte ")) return parseMarlinLine(line) ?? { type: "other", text: line };
  if (c === 67 /* C */ && line.startsWith("Cap:")) return parseCapLine(line) ?? { type: "other", text: line };
  if (c === 70 /* F */ && line.startsWith("FIRMWARE_NAME:")) return parseFirmwareLine(line)!;
  if (c === 123 /* { */ && line.startsWith('{"dir":')) return parseRrfFileList(line) ?? { type: "other", text: line };
  return (
    parseMarlinLine(line) ??
    parsePrusaLine(line) ??
    parseRrfLine(line) ??
    parseSmoothieLine(line) ??
    parseFirmwareLine(line) ?? { type: "other", text: line }
  );
}
