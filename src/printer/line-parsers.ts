// Pure parsers for the printer lines the live printer state needs (serial-protocol.md ids in
// brackets): temperatures [T1], M114 position [T3], M115 identity [I1], notifications [U9],
// M27 bytes [P1], the boot banner [B1] and fatal halts [E1, E2, E5, E6].

export interface HeaterReading {
  temperature: number;
  target: number | null;
  power: number | null;
}

const NUM = String.raw`-?\d+(?:\.\d+)?`;
// `T:210.00 /210.00`, `T0:…`, `B:60.0 /60.0`, `C:30 /0` (chamber). `E:0 W:?` of M109 waits is not a heater.
const TEMP_RE = new RegExp(String.raw`(?:^|\s)(T\d?|B|C)\s*:\s*(${NUM})(?:\s*\/\s*(${NUM}))?`, "g");
// `@:40` (active extruder), `@0:40`, `B@:0`, `C@:0`.
const POWER_RE = new RegExp(String.raw`(?:^|\s)(B|C)?@(\d?)\s*:\s*(${NUM})`, "g");
const TEMP_LINE = /^\s*(?:ok\s+)?(?:T\d?|B)\s*:\s*-?\d/;

/** Klipper's object name for a Marlin heater letter. */
function heaterName(letter: string, index: string): string {
  if (letter === "B") return "heater_bed";
  if (letter === "C") return "heater_generic chamber";
  const n = index === "" ? 0 : Number(index);
  return n === 0 ? "extruder" : `extruder${n}`;
}

/**
 * A temperature report (M105 answer or M155 autoreport) as readings by Klipper heater name.
 * Marlin prints the PID output shifted right by one, so `@:127` is full power
 * (printer-state.md §5, Marlin temperature.cpp).
 */
export function parseTemperatures(line: string): Record<string, HeaterReading> | null {
  if (!TEMP_LINE.test(line)) return null;
  const out: Record<string, HeaterReading> = {};
  let indexed = false;
  for (const m of line.matchAll(TEMP_RE)) {
    const letter = m[1]!.charAt(0);
    const index = m[1]!.slice(1);
    if (letter === "T" && index !== "") indexed = true;
    // A bare T: repeats the active extruder; T0: is authoritative when both are present.
    const name = heaterName(letter, index);
    if (letter === "T" && index === "" && out[name] && indexed) continue;
    const temperature = Number(m[2]);
    if (!Number.isFinite(temperature)) continue;
    out[name] = { temperature, target: m[3] !== undefined ? Number(m[3]) : null, power: null };
  }
  for (const m of line.matchAll(POWER_RE)) {
    const letter = m[1] ?? "T";
    const reading = out[heaterName(letter, m[2] ?? "")];
    if (reading) reading.power = Math.min(1, Math.max(0, Number(m[3]) / 127));
  }
  return Object.keys(out).length > 0 ? out : null;
}

const POS_RE = new RegExp(String.raw`^\s*(?:ok\s+)?X:\s*(${NUM})\s+Y:\s*(${NUM})\s+Z:\s*(${NUM})\s+E\d?:\s*(${NUM})`);

/** M114's logical position [x, y, z, e] (the part before `Count`). */
export function parsePosition(line: string): [number, number, number, number] | null {
  const m = POS_RE.exec(line);
  if (!m) return null;
  const v = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
  return v.every(Number.isFinite) ? (v as [number, number, number, number]) : null;
}

export interface FirmwareIdentity {
  name: string;
  version: string | null;
  machine: string | null;
  extruders: number;
}

/** M115's FIRMWARE_NAME line (Marlin/Prusa/Buddy `KEY:value`, RRF `KEY: value`). */
export function parseFirmware(line: string): FirmwareIdentity | null {
  const at = line.indexOf("FIRMWARE_NAME:");
  if (at === -1) return null;
  const text = line.slice(at);
  const field = (key: string): string | null => {
    const m = new RegExp(`${key}:\\s*(.*?)(?=\\s+[A-Z_]{4,}:|$)`).exec(text);
    return m?.[1]?.trim() || null;
  };
  const rawName = field("FIRMWARE_NAME");
  if (!rawName) return null;
  // "Marlin 2.1.2.1 (Nov 24 2026 10:00:00)" -> "Marlin 2.1.2.1"; "Marlin V1; Sprinter/grbl…" -> "Marlin V1".
  const name = rawName.replace(/\s*\(.*$/, "").replace(/;.*$/, "").trim().slice(0, 80);
  const version = field("FIRMWARE_VERSION")?.slice(0, 40) ?? null;
  const count = Number(field("EXTRUDER_COUNT") ?? "1");
  return {
    name,
    version,
    machine: field("MACHINE_TYPE")?.slice(0, 80) ?? null,
    extruders: Number.isInteger(count) && count >= 1 && count <= 8 ? count : 1,
  };
}

/** The LCD status text: `//action:notification <text>` [U9], or an M117 the firmware echoed. */
export function parseDisplayMessage(line: string): string | null {
  const t = line.trim();
  const n = /^\/\/\s?action:notification\s?(.*)$/.exec(t);
  if (n) return n[1]!.trim().slice(0, 200);
  const m = /^echo:\s*(?:enqueu?e?ing\s+")?M117\s+(.*?)"?$/.exec(t);
  return m ? m[1]!.trim().slice(0, 200) : null;
}

/** `SD printing byte a/b` [P1]. */
export function parseSdBytes(line: string): { pos: number; size: number } | null {
  const m = /SD printing byte (\d+)\s*\/\s*(\d+)/.exec(line);
  if (!m) return null;
  const pos = Number(m[1]);
  const size = Number(m[2]);
  return Number.isSafeInteger(pos) && Number.isSafeInteger(size) ? { pos, size } : null;
}

/** The exact `start` line: the controller has just booted [B1]. */
export function isBoot(line: string): boolean {
  return line.trim() === "start";
}

/** The text of a fatal halt, or null [E1, E2, E5, E6]; protocol errors [E10] are not fatal. */
export function parseHalt(line: string): string | null {
  const t = line.trim();
  if (/^Error:\s*Printer halted/i.test(t) || /system stopped!/i.test(t) || /^Error:\s*Printer stopped due to errors/i.test(t) || /^!!\s*(KILL|STOP)\b/.test(t)) {
    return t.replace(/^(Error:|!!)\s*/, "").slice(0, 300);
  }
  return null;
}
