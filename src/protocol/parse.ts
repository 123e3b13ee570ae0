// Line -> typed event, composing the per-firmware modules. Pure; never throws.

import { cleanLine, type Dialect, type PrinterEvent } from "./events.js";
import { parseCapLine, parseFirmwareLine } from "./firmware.js";
import { parseFileListEntry } from "./file-list.js";
import { parseMarlinLine } from "./marlin.js";
import { parsePrusaLine } from "./prusa.js";
import { parseRrfLine, parseSmoothieLine } from "./rrf.js";

export interface ParseContext {
  dialect: Dialect;
  /** Between `Begin file list` and `End file list`. */
  inFileList: boolean;
}

export const DEFAULT_CONTEXT: ParseContext = { dialect: "unknown", inFileList: false };

export function parseLine(raw: string, ctx: ParseContext = DEFAULT_CONTEXT): PrinterEvent {
  const line = cleanLine(raw);
  if (line === "") return { type: "other", text: "" };
  if (ctx.inFileList && line !== "End file list") {
    return parseFileListEntry(line) ?? { type: "other", text: line };
  }
  return (
    parseFirmwareLine(line) ??
    parseCapLine(line) ??
    parseMarlinLine(line) ??
    parsePrusaLine(line) ??
    parseRrfLine(line) ??
    parseSmoothieLine(line) ?? { type: "other", text: line }
  );
}
