// What the virtual printer's firmwares print for identification and card listings
// (serial-protocol.md §1.2, and the second round on the real Marlin 2.1.2.1 for `marlin2`, the
// plain build, and `marlin2_host`, the rich one).

export type VpDialect = "marlin2" | "marlin2_host" | "marlin1" | "prusa_mk3" | "buddy" | "rrf";
export const VP_DIALECTS: VpDialect[] = ["marlin2", "marlin2_host", "marlin1", "prusa_mk3", "buddy", "rrf"];

export interface VpFile {
  sfn: string;
  long: string;
  size: number;
  /** Filament the whole file extrudes, mm. */
  filament: number;
  /** An M1001 at this fraction of the file: `Done printing file`, then the position stands for ever. */
  m1001At?: number;
  /** The card's date of the file, seconds since the epoch (FAT wall-clock time, read as UTC; even
   *  seconds: FAT keeps two-second steps). */
  modified?: number;
  /** The folder that holds the file; the top if none. RRF: below `0:/gcodes` (`sub`,
   *  `sub/deeper`); Marlin 2: an 8.3 name, listed as `SUB/NAME.GCO` (`printListing`). */
  folder?: string;
}

/** The date `M20 T` prints when a file has none of its own. */
const DEFAULT_FAT = 0x5a3b1c2d;

/** What `M115` prints. */
export function firmwareLines(dialect: VpDialect): string[] {
  switch (dialect) {
    case "marlin2":
    case "marlin2_host":
      return [
        "FIRMWARE_NAME:Marlin 2.1.2.1 (Nov 24 2026 10:00:00) SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin PROTOCOL_VERSION:1.0 MACHINE_TYPE:Virtual Printer EXTRUDER_COUNT:1 UUID:cede2a2f-41a2-4748-9b12-c55c62f367ff",
        "Cap:SERIAL_XON_XOFF:0",
        "Cap:EEPROM:1",
        "Cap:AUTOREPORT_TEMP:1",
        `Cap:AUTOREPORT_SD_STATUS:${dialect === "marlin2_host" ? 1 : 0}`,
        "Cap:PROGRESS:0",
        "Cap:PRINT_JOB:1",
        `Cap:HOST_ACTION_COMMANDS:${dialect === "marlin2_host" ? 1 : 0}`,
        // LONG_FILENAME_HOST_SUPPORT only in the rich build.
        `Cap:EXTENDED_M20:${dialect === "marlin2_host" ? 1 : 0}`,
        "Cap:SDCARD:1",
      ];
    case "marlin1":
      return ["FIRMWARE_NAME:Marlin V1; Sprinter/grbl mashup for gen6 FIRMWARE_URL:http://www.mendel-parts.com PROTOCOL_VERSION:1.0 MACHINE_TYPE:www.creality3d.cn EXTRUDER_COUNT:1 UUID:00000000-0000-0000-0000-000000000000"];
    case "prusa_mk3":
      return [
        "FIRMWARE_NAME:Prusa-Firmware 3.13.3 based on Marlin FIRMWARE_URL:https://github.com/prusa3d/Prusa-Firmware PROTOCOL_VERSION:1.0 MACHINE_TYPE:Prusa i3 MK3S EXTRUDER_COUNT:1 UUID:00000000-0000-0000-0000-000000000000",
        "Cap:AUTOREPORT_TEMP:1",
        "Cap:AUTOREPORT_FANS:1",
        "Cap:AUTOREPORT_POSITION:1",
        "Cap:EXTENDED_M20:1",
      ];
    case "buddy":
      return [
        "FIRMWARE_NAME:Prusa-Firmware-Buddy 6.3.4 (Github) SOURCE_CODE_URL:https://github.com/prusa3d/Prusa-Firmware-Buddy PROTOCOL_VERSION:1.0 MACHINE_TYPE:Prusa-MK4 EXTRUDER_COUNT:1 UUID:cede2a2f-41a2-4748-9b12-c55c62f367ff",
        "Cap:AUTOREPORT_TEMP:1",
        "Cap:PROMPT_SUPPORT:1",
        "Cap:AUTOREPORT_SD_STATUS:0",
      ];
    case "rrf":
      return ["FIRMWARE_NAME: RepRapFirmware for Duet 3 Mini 5+ FIRMWARE_VERSION: 3.5.1 ELECTRONICS: Duet 3 Mini5plus WiFi FIRMWARE_DATE: 2024-04-19 14:40:46"];
  }
}

/** What `M20` prints, with `L` (long names) and `T` (dates) where the firmware has them:
 *  Marlin 1.1.x's `M20` takes no parameters (`gcode_M20()` calls `card.ls()`), Buddy's prints bare
 *  names (`M20-M30_M32-M34.cpp`), RRF in Marlin mode names only, and its `S2`/`S3` JSON. Marlin 2
 *  dates files only when built with M20_TIMESTAMP_SUPPORT (`timestamps`): `M20.cpp` reads `T`
 *  as `TERN0(M20_TIMESTAMP_SUPPORT, parser.boolval('T'))`, and `printListing` prints the FAT
 *  date and time words as `0x` and eight upper-case hex digits after the size, before a long
 *  name. Prusa MK3 always has `T` (`cardreader.cpp`, `%#lx`: lower case). */
export function fileList(d: VpDialect, files: VpFile[], args: string, timestamps = false): string[] {
  if (d === "rrf" && /(?:^|\s)S[23]\b/.test(args)) return [rrfJsonList(files, args)];
  const long = /L/.test(args);
  const dated = /T/.test(args) && (d === "prusa_mk3" || timestamps);
  const out = ["Begin file list"];
  for (const f of files) {
    if (d === "buddy") out.push(f.sfn);
    else if (d === "prusa_mk3") out.push(`${f.sfn} ${f.size}${dated ? " 0x" + fatHex(f).toString(16) : ""}${long ? ` "${f.long}"` : ""}`);
    else if (d === "rrf") out.push(f.long);
    else if (d === "marlin1") out.push(`${f.sfn} ${f.size}`); // no parameters at all
    else {
      // Marlin 2: a file in a folder is listed with the folder's path; a screen start there
      // prints only its name (`openFileRead()`).
      const at = f.folder ? f.folder.toUpperCase() + "/" : "";
      const date = dated ? " 0x" + fatHex(f).toString(16).toUpperCase().padStart(8, "0") : "";
      // M20 L prints only 26 characters of a long name (MAX_VFAT_ENTRIES 2, second round).
      const longName = d === "marlin2_host" && long ? ` ${f.folder ? f.folder + "/" : ""}${f.long.slice(0, 26)}` : "";
      out.push(`${at}${f.sfn} ${f.size}${date}${longName}`);
    }
  }
  out.push("End file list");
  return out;
}

/** A file's date packed as FAT keeps it (date << 16 | time), as `M20 T` prints it. */
export function fatHex(f: VpFile): number {
  if (f.modified === undefined) return DEFAULT_FAT;
  const t = new Date(f.modified * 1000);
  const date = ((t.getUTCFullYear() - 1980) << 9) | ((t.getUTCMonth() + 1) << 5) | t.getUTCDate();
  const time = (t.getUTCHours() << 11) | (t.getUTCMinutes() << 5) | (t.getUTCSeconds() >> 1);
  return ((date << 16) | time) >>> 0;
}

/** A file's path on an RRF card: `0:/gcodes/sub/name.gcode`. */
export function rrfPath(f: VpFile): string {
  return `0:/gcodes/${f.folder ? f.folder + "/" : ""}${f.long}`;
}

/** RRF 3's `M20 S3 [P"folder"] [R<from>]` (`RepRap::GetFilelistResponse`): the folder's files
 *  and subfolders (`"type":"d"`, size 0) from index `R` in one line, `dir` echoing `P` as given
 *  (default `0:/gcodes/`), `date` only when the card's year is after 1980, `"err":2` for a
 *  folder that does not exist; `S2` names only. */
function rrfJsonList(files: VpFile[], args: string): string {
  const p = /(?:^|\s)P("(?:[^"]|"")*"|\S+)/.exec(args)?.[1];
  const rest = p === undefined ? args : args.replace(p, "");
  const from = Number(/(?:^|\s)R(\d+)/.exec(rest)?.[1] ?? 0);
  const detailed = /(?:^|\s)S3\b/.test(rest);
  const dir = p === undefined ? "0:/gcodes/" : rrfUnquote(p);
  // FAT is case-insensitive: folders compare in lower case.
  const folder = dir.replace(/\/+$/, "").replace(/^0:\/gcodes\/?/i, "").toLowerCase();
  const below = folder === "" ? "" : folder + "/";
  const folderOf = (f: VpFile) => (f.folder ?? "").toLowerCase();
  const inside = (f: VpFile) => folderOf(f) === folder;
  // The first folder name below this one of every file deeper down.
  const deeper = files.filter((f) => f.folder && folderOf(f).startsWith(below) && folderOf(f) !== folder);
  const subfolders = [...new Set(deeper.map((f) => f.folder!.slice(below.length).split("/")[0]!))];
  const exists = folder === "" || files.some(inside) || deeper.length > 0;
  if (!exists || !/^0:\/gcodes(\/|$)/i.test(dir)) return `{"dir":${JSON.stringify(dir)},"first":${from},"files":[],"err":2}`;
  const date = (t: number | undefined) => (t !== undefined && t >= Date.UTC(1981, 0, 1) / 1000 ? `,"date":"${new Date(t * 1000).toISOString().slice(0, 19)}"` : "");
  const all = [
    ...subfolders.map((name) => (detailed ? `{"type":"d","name":${JSON.stringify(name)},"size":0,"date":"2025-01-02T03:04:06"}` : JSON.stringify("*" + name))),
    ...files.filter(inside).map((f) => (detailed ? `{"type":"f","name":${JSON.stringify(f.long)},"size":${f.size}${date(f.modified)}}` : JSON.stringify(f.long))),
  ];
  return `{"dir":${JSON.stringify(dir)},"first":${from},"files":[${all.slice(from).join(",")}],"next":0${detailed ? "" : ',"err":0'}}`;
}

/** A possibly quoted G-code string as RRF reads it (`StringParser::InternalGetQuotedString`):
 *  `""` is `"`, `''` is `'`, `'` before a letter lower-cases it. */
export function rrfUnquote(arg: string): string {
  if (!arg.startsWith('"')) return arg;
  let out = "";
  for (let i = 1; i < arg.length; i++) {
    const c = arg[i]!;
    if (c === '"') {
      if (arg[i + 1] !== '"') break;
      i += 1;
    } else if (c === "'" && /[A-Za-z]/.test(arg[i + 1] ?? "")) {
      out += arg[++i]!.toLowerCase();
      continue;
    } else if (c === "'" && arg[i + 1] === "'") {
      i += 1;
    }
    out += c;
  }
  return out;
}
