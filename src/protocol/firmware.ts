// M115 identification and `Cap:` lines: which firmware family (dialect) is on the other end.

import type { Dialect, PrinterEvent } from "./events.js";

/** Picks the dialect from FIRMWARE_NAME (serial-protocol.md I1-I7). */
export function dialectOf(name: string): Dialect {
  const n = name.toLowerCase();
  if (n.includes("prusa-firmware-buddy")) return "prusa_buddy";
  if (n.includes("prusa-firmware")) return "prusa_mk3";
  if (n.includes("reprapfirmware")) return "rrf";
  if (n.includes("klipper")) return "klipper";
  if (n.includes("smoothie")) return "smoothie";
  if (/marlin\s*v1\b|marlin 1\.|sprinter/.test(n)) return "marlin1";
  if (n.includes("marlin")) return "marlin2";
  return "unknown";
}

/** `FIRMWARE_NAME:Marlin 2.1.2 (…) SOURCE_CODE_URL:… MACHINE_TYPE:Orca 3 …`, RRF with spaces after colons. */
export function parseFirmwareLine(line: string): PrinterEvent | null {
  const body = line.startsWith("ok ") ? line.slice(3) : line;
  const at = body.indexOf("FIRMWARE_NAME:");
  if (at === -1) return null;
  const rest = body.slice(at + "FIRMWARE_NAME:".length);
  // The value runs until the next KEY: token (upper-case word followed by a colon).
  const field = (text: string): string => {
    const m = /\s[A-Z][A-Z_]{2,}:/.exec(text);
    return (m ? text.slice(0, m.index) : text).trim();
  };
  const name = field(rest);
  const machineAt = body.indexOf("MACHINE_TYPE:");
  const machine = machineAt === -1 ? null : field(body.slice(machineAt + "MACHINE_TYPE:".length)) || null;
  const versionAt = body.indexOf("FIRMWARE_VERSION:");
  let version: string | null = versionAt === -1 ? null : field(body.slice(versionAt + "FIRMWARE_VERSION:".length)) || null;
  if (!version) {
    const v = /(\d+\.\d+(?:\.\d+)?(?:[-.+\w]*)?)/.exec(name);
    version = v ? v[1]! : null;
  }
  return { type: "firmware", name, version, dialect: dialectOf(name), machine };
}

export function parseCapLine(line: string): PrinterEvent | null {
  const m = /^Cap:([A-Z0-9_]+):([01])\s*$/.exec(line);
  return m ? { type: "cap", name: m[1]!, enabled: m[2] === "1" } : null;
}
