// RepRapFirmware's dated card listing, `M20 S3` (RRF 3.x `RepRap::GetFilelistResponse`), one
// JSON line that RRF prints unwrapped in Marlin mode too (`GCodes::HandleReply`), then `ok`:
// `{"dir":"0:/gcodes/","first":0,"files":[{"type":"f","name":"a.gcode","size":123,"date":"2024-05-01T10:20:30"}],"next":0}`
// and how to ask for one folder of it (`M20 S3 P"0:/gcodes/sub" R<n>`).

import { cardDate } from "./file-list.js";
import type { CardFile, PrinterEvent } from "./events.js";

export const RRF_LIST_COMMAND = "M20 S3";
/** RRF's G-code folder (`Platform::GetGCodeDir`), the `gcodes` root of Moonraker's API. */
const GCODES = "0:/gcodes";
/** The longest `M20` printlog sends (serial/link.ts SAFE_COMMAND: the code, a space, 120). */
const MAX_COMMAND = 124;

// `dir` echoes the `P` argument as given (`%.s`: JSON-escaped); `first` is the `R` argument.
const HEAD = /^\{"dir":"((?:[^"\\]|\\.){0,300})","first":(\d{1,6}),"files":\[/;
// `type` d (a folder) or f; a folder's `size` is 0; `date` is left out when the card's date is
// 1980 or earlier.
const ENTRY = /\{"type":"([fd])","name":"((?:[^"\\]|\\.){1,300})","size":(\d{1,15})(?:,"date":"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)")?\}/y;
// `"next"` is the index of the first file left out (0: none), `"err"` 1 no card, 2 no folder.
const TAIL = /^\](?:,"next":(\d{1,6}))?(?:,"err":(\d{1,3}))?\}$/;

/** The listing's files and folders, which folder it lists (relative to `0:/gcodes`, "" for the
 *  top; null when it lies outside) and where its next page starts. A line longer than
 *  printlog's cap arrives cut: its complete entries count, and the next page starts after them
 *  (RRF's `R` counts every entry shown, folders included). Anything else that is not this
 *  shape: null. */
export function parseRrfFileList(line: string): PrinterEvent | null {
  const head = HEAD.exec(line);
  if (!head) return null;
  const dirName = jsonString(head[1]!, true);
  const dir = dirName === null ? null : relativeFolder(dirName);
  const first = Number(head[2]);
  const files: CardFile[] = [];
  const folders: string[] = [];
  let seen = 0;
  let at = head[0].length;
  for (;;) {
    ENTRY.lastIndex = at;
    const m = ENTRY.exec(line);
    if (!m) break;
    seen += 1;
    at = ENTRY.lastIndex + (line[ENTRY.lastIndex] === "," ? 1 : 0);
    const name = jsonString(m[2]!);
    if (!name || /[/\\]/.test(name) || name === "." || name === "..") continue;
    if (m[1] === "d") {
      folders.push(name);
      continue;
    }
    const size = Number(m[3]);
    const modified = m[4] === undefined ? null : cardDate(Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]), Number(m[8]), Number(m[9]));
    files.push({ name, size: Number.isSafeInteger(size) ? size : null, modified });
  }
  const tail = TAIL.exec(line.slice(at));
  if (!tail) return { type: "file_list_json", dir, first, files, folders, resume: seen > 0 ? first + seen : null, cut: true };
  const next = tail[1] === undefined ? 0 : Number(tail[1]);
  return { type: "file_list_json", dir, first, files, folders, resume: next > first ? next : null, cut: false };
}

/** `0:/gcodes/sub/deeper/` -> `sub/deeper`; `0:/gcodes` -> ""; elsewhere (`0:/macros`): null. */
export function relativeFolder(dir: string): string | null {
  const d = dir.replace(/\/+$/, "");
  if (d.toLowerCase() === GCODES) return "";
  if (d.slice(0, GCODES.length + 1).toLowerCase() !== GCODES + "/") return null;
  const rest = d.slice(GCODES.length + 1);
  return rest.split("/").some((p) => p === "" || p === "." || p === "..") ? null : rest;
}

/** The command that lists `folder` (relative to `0:/gcodes`, "" for the top) from entry `from`;
 *  null when it cannot be sent: a name outside printable ASCII (printlog sends nothing else)
 *  or too long for one command. Inside RRF's quoted strings `""` is one `"`, and `'` before a
 *  letter lower-cases it, so `''` is one `'` (`StringParser::InternalGetQuotedString`). */
export function rrfListCommand(folder: string, from = 0): string | null {
  if (!/^[ -~]*$/.test(folder)) return null;
  const path = folder === "" ? "" : ` P"${GCODES}/${folder.replace(/"/g, '""').replace(/'/g, "''")}"`;
  const cmd = `${RRF_LIST_COMMAND}${path}${from > 0 ? ` R${from}` : ""}`;
  return cmd.length <= MAX_COMMAND ? cmd : null;
}

/** A JSON string body as RRF escapes it; null if it is not valid JSON. */
function jsonString(body: string, allowEmpty = false): string | null {
  try {
    const s: unknown = JSON.parse(`"${body}"`);
    return typeof s === "string" && (allowEmpty || s.trim() !== "") ? s : null;
  } catch {
    return null;
  }
}
