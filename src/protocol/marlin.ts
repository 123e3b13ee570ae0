// Lines common to Marlin and the firmwares that copy its strings (serial-protocol.md §1):
// SD selection and progress, completion, host actions, errors, temperatures, position, stats.

import type { ErrorKind, PrinterEvent } from "./events.js";

const num = (s: string | undefined): number => (s === undefined ? NaN : Number(s));

/** `Error:…` / `!!…` classification: what is fatal, what is protocol noise. */
export function classifyError(message: string): ErrorKind {
  const m = message.toLowerCase();
  if (m.includes("kill() called") || m.includes("printer halted")) return "halt";
  if (/thermal runaway|maxtemp|mintemp|heating failed|thermal malfunction|temp(erature)? (too )?(high|low)|heaters switched off/.test(m)) return "thermal";
  if (m.includes("printer stopped due to errors") || m.includes("system stopped")) return "stopped";
  if (m.startsWith("kill caused") || m.includes("stop called because")) return "kill";
  if (/line number|checksum|no line number|missing linenumber|format error|expected line|last line/.test(m)) return "protocol";
  if (m.includes("unknown command")) return "unknown_command";
  if (/volume\.init|openroot|workdir|sd init|open failed|cannot open|cannot enter|error writing to file|sd card/.test(m)) return "sd";
  return "other";
}

/** Temperatures from `ok T:210.0 /210.0 B:60 /60 @:40 B@:0`, ` T:…` autoreports, `T:25.3 E:0 W:?`. */
export function parseTemps(line: string): Record<string, number> | null {
  const out: Record<string, number> = {};
  const re = /(?:^|\s)(T\d*|B|C|P|A|R):\s*(-?\d+(?:\.\d+)?)(?:\s*\/\s*(-?\d+(?:\.\d+)?))?/g;
  let m: RegExpExecArray | null;
  let found = false;
  while ((m = re.exec(line))) {
    found = true;
    out[m[1]!] = Number(m[2]);
    if (m[3] !== undefined) out[`${m[1]}_target`] = Number(m[3]);
  }
  return found ? out : null;
}

/** M114: `X:0.00 Y:116.91 Z:8.42 E:-4.00 Count X:0 …` (Prusa adds `E:` to the counts). */
export function parsePosition(line: string): PrinterEvent | null {
  if (!/^X:\s*-?\d/.test(line)) return null;
  const countAt = line.indexOf("Count");
  const logical = countAt === -1 ? line : line.slice(0, countAt);
  const e = /\bE0?:\s*(-?\d+(?:\.\d+)?)/.exec(logical);
  const counts = countAt === -1 ? "" : line.slice(countAt);
  const ec = /\bE:\s*(-?\d+(?:\.\d+)?)/.exec(counts);
  // X/Y/Z tell a moving toolhead from a standing one (a pause on plain Marlin prints nothing).
  const xyz = /\bX:\s*(-?[\d.]+)\s+Y:\s*(-?[\d.]+)\s+Z:\s*(-?[\d.]+)/.exec(logical);
  const ev: PrinterEvent = { type: "position", e: e ? Number(e[1]) : null, eCount: ec ? Number(ec[1]) : null };
  if (xyz) ev.xyz = `${xyz[1]} ${xyz[2]} ${xyz[3]}`;
  return ev;
}

/** `1h 2m 3s`, `7m 19s`, `153d 23h 16m 42s`, `1y 2d …` (Marlin duration_t). */
export function parseDuration(text: string): number | null {
  const re = /(\d+)\s*([ydhms])/g;
  let total = 0;
  let m: RegExpExecArray | null;
  let any = false;
  const unit: Record<string, number> = { y: 31536000, d: 86400, h: 3600, m: 60, s: 1 };
  while ((m = re.exec(text))) {
    any = true;
    total += Number(m[1]) * unit[m[2]!]!;
  }
  return any ? total : null;
}

/** Parses a line in the common Marlin vocabulary; null when it is not one of these. */
export function parseMarlinLine(line: string): PrinterEvent | null {
  if (line === "start") return { type: "boot" };
  if (line === "ok" || line.startsWith("ok ")) {
    const temps = parseTemps(line);
    return temps ? { type: "ok", temps } : { type: "ok" };
  }
  let m: RegExpExecArray | null;
  if ((m = /^(?:echo:\s*)?(PowerUp|External Reset|Brown out Reset|Watchdog Reset|Software Reset)\s*$/.exec(line))) {
    return { type: "reset_cause", cause: m[1]! };
  }
  if ((m = /^SD printing byte (\d+)\/(\d+)/.exec(line))) return { type: "sd_progress", pos: num(m[1]), size: num(m[2]) };
  if (/^Not SD printing\.?$/.test(line)) return { type: "not_sd_printing" };
  if (line === "Done printing file") return { type: "done_printing" };
  if (line === "File selected") return { type: "file_selected" };
  // `File opened: BOX1.GCO Size: 193158`, `File opened:box1.gco Size:193158`, RRF bare `File opened`.
  if ((m = /^File opened:?\s*(.*?)\s*Size:\s*(\d+)\s*$/.exec(line))) {
    return { type: "file_opened", name: m[1]!.length > 0 ? m[1]! : null, size: num(m[2]) };
  }
  if (line === "File opened") return { type: "file_opened", name: null, size: null };
  if ((m = /^echo:\s*Now (?:fresh|doing) file:\s*(.+)$/.exec(line))) return { type: "fresh_file", name: m[1]!.trim() };
  if ((m = /^open failed, File:\s*(.*?)\.?$/.exec(line))) return { type: "open_failed", name: m[1]! };
  if ((m = /^echo:\s*enqu?e?u?e?ing "(.+)"$/.exec(line))) return { type: "enqueued", command: m[1]!.trim() };
  if ((m = /^Current file:\s*(.*)$/.exec(line))) {
    const rest = m[1]!.trim();
    if (rest === "(no file)" || rest === "") return { type: "current_file", sfn: null, long: null };
    const sp = rest.indexOf(" ");
    return sp === -1 ? { type: "current_file", sfn: rest, long: null } : { type: "current_file", sfn: rest.slice(0, sp), long: rest.slice(sp + 1).trim() || null };
  }
  // Host action commands, with or without a space after `//` (Buddy, Smoothie use `// action:`).
  if ((m = /^\/\/\s?action:(\S+)\s*(.*)$/.exec(line))) return { type: "action", action: m[1]!.toLowerCase(), arg: m[2]!.trim() };
  if ((m = /^echo:\s*Print time:\s*(.+)$/.exec(line))) {
    const s = parseDuration(m[1]!);
    if (s !== null) return { type: "print_time", seconds: s };
  }
  if ((m = /^echo:\s*busy:\s*(.*)$/.exec(line)) || (m = /^busy:\s*(.*)$/.exec(line))) return { type: "busy", reason: m[1]!.trim() };
  if ((m = /^(?:Error|error):\s*(.*)$/.exec(line))) return { type: "error", kind: classifyError(m[1]!), message: m[1]!.trim() };
  if ((m = /^!!\s*(.*)$/.exec(line))) return { type: "error", kind: classifyError(m[1]!) === "other" ? "kill" : classifyError(m[1]!), message: m[1]!.trim() };
  if ((m = /^(?:echo:\s*)?Unknown command:\s*(.*)$/i.exec(line))) return { type: "error", kind: "unknown_command", message: line };
  if ((m = /^Resend:\s*(\d+)/.exec(line)) || (m = /^rs\s+N?(\d+)/.exec(line))) return { type: "resend", line: num(m[1]) };
  if ((m = /^Stats: Prints: (\d+), Finished: (\d+), Failed: (\d+)/.exec(line))) {
    return { type: "stats_counts", prints: num(m[1]), finished: num(m[2]), failed: num(m[3]) };
  }
  if ((m = /^Stats: Filament used: (\d+(?:\.\d+)?)m/.exec(line))) return { type: "stats_filament", mm: Math.round(num(m[1]) * 1000) };
  // `echo: M73 Progress: 25%; Time left: 456m; Change: 12m;` (Buddy splits this over 3 lines).
  if ((m = /^echo:\s*M73 Progress:\s*(\d+(?:\.\d+)?)%;?(?:\s*Time left:\s*(\d+)m)?/.exec(line))) {
    return { type: "m73", percent: num(m[1]), remainingMin: m[2] === undefined ? null : num(m[2]) };
  }
  if (line === "Begin file list") return { type: "file_list_begin" };
  if (line === "End file list") return { type: "file_list_end" };
  const pos = parsePosition(line);
  if (pos) return pos;
  if (/^T\d*:\s*-?\d/.test(line) || /^B:\s*-?\d/.test(line)) {
    const temps = parseTemps(line);
    if (temps) return { type: "temperature", temps };
  }
  return null;
}
