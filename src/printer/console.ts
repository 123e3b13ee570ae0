// The console, read-only: which printer lines reach the clients' consoles and how they are
// prefixed (printer-state.md §3 notify_gcode_response, §5), and which typed commands printlog
// may forward to the printer (read-only queries only; everything else is refused).

/** Queries that only report (M105 temperatures, M114 position, M115 firmware, M27 SD status,
 *  M31 print time, M78 statistics, M119 endstops); sent bare, without arguments. */
export const READ_ONLY_QUERIES: ReadonlySet<string> = new Set(["M105", "M114", "M115", "M27", "M31", "M78", "M119"]);
export const MAX_SCRIPT_LINES = 20;
export const MAX_SCRIPT_LENGTH = 2000;

export type ScriptPlan = { ok: true; commands: string[] } | { ok: false; refused: string; lines: string[] };

/** Splits a console script into commands; refuses the whole script if any line is not a bare read-only query. */
export function planScript(script: string): ScriptPlan {
  const lines = script
    .slice(0, MAX_SCRIPT_LENGTH)
    .split(/\r?\n/)
    .map((l) => l.replace(/;.*$/, "").trim())
    .filter((l) => l !== "")
    .slice(0, MAX_SCRIPT_LINES);
  const commands: string[] = [];
  for (const line of lines) {
    const cmd = line.toUpperCase();
    if (!READ_ONLY_QUERIES.has(cmd)) return { ok: false, refused: line.slice(0, 80), lines };
    commands.push(cmd);
  }
  return { ok: true, commands };
}

/** The refusal text for a control request, also pushed as a `!!` console line. */
export function readOnlyMessage(what: string): string {
  const stop = /^(M112|EMERGENCY|printer\.emergency_stop)/i.test(what) ? " The printer was NOT stopped: use its own screen, button or power switch." : "";
  return `printlog is read-only: ${what} was not sent to the printer.${stop}`;
}

/**
 * How an unsolicited printer line appears in the console, or null for poll noise. Fatal text
 * becomes `!! …` (a toast in Mainsail, a popup in KlipperScreen); `//action:` passes unchanged;
 * other `echo:` lines become `// …`. `ok`, busy, resend, checksum errors, temperature and
 * position reports and SD status polls are never forwarded on their own.
 */
export function consoleLine(line: string, fatal: boolean): string | null {
  const t = line.trim();
  if (t === "") return null;
  if (fatal) return `!! ${t.replace(/^(Error:|!!)\s*/, "")}`;
  if (t.startsWith("//")) return t;
  if (/^(ok\b|Resend:|echo:\s*busy:|wait$)/.test(t)) return null;
  if (/^Error:/i.test(t)) {
    if (/Line Number|checksum|No Checksum|Unknown command/i.test(t)) return null;
    return `!! ${t.replace(/^Error:\s*/i, "")}`;
  }
  // What the firmware says about an SD print and a reset, as a Klipper console would show it.
  if (/^(File opened|File selected|Done printing file|Finished printing file|Cancelled printing file|start$)/.test(t)) return `// ${t}`;
  if (/^echo:/.test(t)) {
    const text = t.replace(/^echo:\s*/, "");
    // Replies to printlog's own probes (M78 on a printer without PRINTCOUNTER) are noise.
    if (/^Unknown command/i.test(text) || text === "") return null;
    return `// ${text}`;
  }
  return null;
}
