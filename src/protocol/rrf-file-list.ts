// RepRapFirmware's dated card listing, `M20 S3` (RRF 3.x `RepRap::GetFilelistResponse`), one
// JSON line that RRF prints unwrapped in Marlin mode too (`GCodes::HandleReply`), then `ok`:
// `{"dir":"0:/gcodes/","first":0,"files":[{"type":"f","name":"a.gcode","size":123,"date":"2024-05-01T10:20:30"}],"next":0}`

import { cardDate } from "./file-list.js";
import type { CardFile, PrinterEvent } from "./events.js";

export const RRF_LIST_COMMAND = "M20 S3";

const HEAD = /^\{"dir":"(?:[^"\\]|\\.)*","first":(\d{1,6}),"files":\[/;
// `type` d (a folder) or f; `date` is left out when the card's date is 1980 or earlier.
const ENTRY = /\{"type":"([fd])","name":"((?:[^"\\]|\\.){1,300})","size":(\d{1,15})(?:,"date":"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)")?\}/y;
// `"next"` is the index of the first file left out (0: none), `"err"` 1 no card, 2 no folder.
const TAIL = /^\](?:,"next":(\d{1,6}))?(?:,"err":(\d{1,3}))?\}$/;

/** The listing's files and where its next page starts. A line longer than printlog's cap
 *  arrives cut: its complete entries count, and the next page starts after them (RRF's `R`
 *  counts every entry shown, folders included). Anything else that is not this shape: null. */
export function parseRrfFileList(line: string): PrinterEvent | null {
  const head = HEAD.exec(line);
  if (!head) return null;
  const first = Number(head[1]);
  const files: CardFile[] = [];
  let seen = 0;
  let at = head[0].length;
  for (;;) {
    ENTRY.lastIndex = at;
    const m = ENTRY.exec(line);
    if (!m) break;
    seen += 1;
    at = ENTRY.lastIndex + (line[ENTRY.lastIndex] === "," ? 1 : 0);
    if (m[1] !== "f") continue;
    const name = jsonString(m[2]!);
    if (!name || /[/\\]/.test(name)) continue;
    const size = Number(m[3]);
    const modified = m[4] === undefined ? null : cardDate(Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]), Number(m[8]), Number(m[9]));
    files.push({ name, size: Number.isSafeInteger(size) ? size : null, modified });
  }
  const tail = TAIL.exec(line.slice(at));
  if (!tail) return { type: "file_list_json", first, files, resume: seen > 0 ? first + seen : null, cut: true };
  const next = tail[1] === undefined ? 0 : Number(tail[1]);
  return { type: "file_list_json", first, files, resume: next > first ? next : null, cut: false };
}

/** A JSON string body as RRF escapes it; null if it is not valid JSON. */
function jsonString(body: string): string | null {
  try {
    const s: unknown = JSON.parse(`"${body}"`);
    return typeof s === "string" && s.trim() !== "" ? s : null;
  } catch {
    return null;
  }
}
