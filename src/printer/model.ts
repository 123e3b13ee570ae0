// The printer as Moonraker clients see it: Klippy's state (ready/startup/shutdown/error/
// disconnected) mapped from printlog's link, and what the printer last reported. Pure: every
// transition takes `now` and returns the notification it calls for, if any.

import { AUTO_PLACES } from "../serial/device.js";
import { isBoot, parseDisplayMessage, parseFirmware, parseHalt, parsePosition, parseSdBytes, parseTemperatures, type FirmwareIdentity, type HeaterReading } from "./line-parsers.js";

export type KlippyState = "disconnected" | "startup" | "ready" | "shutdown" | "error";
export type KlippyNotice = "notify_klippy_ready" | "notify_klippy_shutdown" | "notify_klippy_disconnected";

/** How long a configured printer may stay absent before clients are told why (printer-state.md rule 0.7). */
export const ABSENT_ERROR_SECONDS = 10;
/** How long a handshake may go unanswered before it is reported as an error. */
export const STARTUP_ERROR_SECONDS = 20;
/** Klipper's exact ready text; Fluidd shows any other text as an error (FL:KlippyStatusCard.vue). */
export const READY_MESSAGE = "Printer is ready";
const SHUTDOWN_HINT = "Once the underlying issue is corrected, reset the printer (its reset button or power switch); printlog reconnects by itself.";

export interface PrinterModel {
  /** False when no printer is configured (device `none`): Moonraker's klippy_connected=false. */
  configured: boolean;
  device: string;
  state: KlippyState;
  message: string;
  since: number;
  port: string | null;
  baud: number | null;
  /** The link is open and the firmware has identified itself since the last (re)open or boot. */
  identified: boolean;
  firmware: FirmwareIdentity | null;
  heaters: Record<string, HeaterReading>;
  lastTemperatureAt: number;
  position: [number, number, number, number] | null;
  displayMessage: string | null;
  sdBytes: { pos: number; size: number; at: number } | null;
  /** The last non-fatal `Error:` text: Prusa names the cause on the line before `kill() called`. */
  lastError: { text: string; at: number } | null;
  /** Why the printer is absent, for the error clients see once it stays absent. */
  absentReason: string;
  /** Bumped on every printer boot: a finished job shown as complete belongs to the previous one. */
  boots: number;
}

export function newPrinterModel(device: string, now: number): PrinterModel {
  const configured = device !== "none";
  return {
    configured,
    device,
    state: "disconnected",
    message: configured ? `Waiting for the printer on ${device}` : "No printer configured (device: none): printlog serves the history only",
    since: now,
    port: null,
    baud: null,
    identified: false,
    firmware: null,
    heaters: {},
    lastTemperatureAt: 0,
    position: null,
    displayMessage: null,
    sdBytes: null,
    lastError: null,
    absentReason: device === "auto" ? "no serial device found yet" : "the port has not opened yet",
    boots: 0,
  };
}

function enter(m: PrinterModel, state: KlippyState, message: string, now: number): KlippyNotice | null {
  const was = m.state;
  m.message = message;
  if (was === state) return null;
  m.state = state;
  m.since = now;
  if (state === "ready") return "notify_klippy_ready";
  if (state === "shutdown") return "notify_klippy_shutdown";
  if (state === "disconnected") return "notify_klippy_disconnected";
  return null;
}

function startingMessage(m: PrinterModel): string {
  return `Printer is starting: waiting for the firmware to answer M115 on ${m.port ?? m.device}${m.baud ? ` at ${m.baud} baud` : ""}`;
}

/** The serial port opened. */
export function linkOpened(m: PrinterModel, port: string, baud: number, now: number): KlippyNotice | null {
  m.port = port;
  m.baud = baud;
  m.identified = false;
  // A halted firmware stays halted across printlog's own reopen of the port; only a boot clears it.
  if (m.state === "shutdown") return null;
  if (m.state === "error" && m.message.startsWith("No answer")) return null;
  return enter(m, "startup", startingMessage(m), now);
}

/** The serial port closed: unplugged ("port closed"), or printlog reopening it for a reason. */
export function linkClosed(m: PrinterModel, reason: string, now: number): KlippyNotice | null {
  m.identified = false;
  const lost = reason === "port closed";
  m.absentReason = reason;
  // Readings of a printer that is gone must not be shown (or charted) as current.
  if (lost) m.heaters = {};
  // printlog reopening the port (a silent printer, the next baud rate) does not end a shutdown,
  // an error or a handshake in progress: the startup timer keeps running across baud rates.
  if (!lost && (m.state === "shutdown" || m.state === "error" || m.state === "startup")) return null;
  return enter(m, "disconnected", `Printer disconnected from ${m.port ?? m.device}: ${reason}`, now);
}

/** One line from the printer; returns the Klippy notification it causes, if any. */
export function observeLine(m: PrinterModel, line: string, now: number): KlippyNotice | null {
  const temps = parseTemperatures(line);
  if (temps) {
    Object.assign(m.heaters, temps);
    m.lastTemperatureAt = now;
  }
  const pos = parsePosition(line);
  if (pos) m.position = pos;
  const sd = parseSdBytes(line);
  if (sd) m.sdBytes = { ...sd, at: now };
  const display = parseDisplayMessage(line);
  if (display !== null) m.displayMessage = display;
  const halt = parseHalt(line);
  if (halt) {
    // The first fatal line names the cause (Marlin: `Thermal Runaway, system stopped!`; Prusa:
    // `Error: HOTEND THERMAL RUNAWAY` just before); `kill() called` follows it.
    const cause = m.lastError && now - m.lastError.at <= 5 ? `${m.lastError.text} (${halt})` : halt;
    const message = m.state === "shutdown" ? m.message : `${cause}\n${SHUTDOWN_HINT}`;
    return enter(m, "shutdown", message, now);
  }
  const error = /^Error:\s*(.+)$/.exec(line.trim());
  if (error && !/Line Number|checksum|No Checksum|Unknown command|Resend/i.test(error[1]!)) m.lastError = { text: error[1]!.slice(0, 200), at: now };
  if (isBoot(line)) {
    m.identified = false;
    m.boots += 1;
    m.heaters = {};
    m.sdBytes = null;
    m.displayMessage = null;
    return enter(m, "startup", "Printer is restarting: the firmware printed its start banner", now);
  }
  const fw = parseFirmware(line);
  if (fw) {
    m.firmware = fw;
    m.identified = true;
    return null;
  }
  // The first `ok` (or report) after the firmware named itself: the handshake is over.
  if (m.identified && (m.state === "startup" || m.state === "error") && (/^ok\b/.test(line.trim()) || temps !== null)) {
    return enter(m, "ready", READY_MESSAGE, now);
  }
  return null;
}

/** Time passing: an absent printer or an unanswered handshake becomes an explained error. */
export function tickModel(m: PrinterModel, now: number): KlippyNotice | null {
  if (!m.configured) return null;
  if (m.state === "disconnected" && now - m.since >= ABSENT_ERROR_SECONDS) {
    const where = m.port ?? (m.device === "auto" ? `any serial port (${AUTO_PLACES.join(", ")})` : m.device);
    return enter(m, "error", `No printer on ${where}: ${m.absentReason}. printlog keeps looking and reconnects by itself.`, now);
  }
  if (m.state === "startup" && now - m.since >= STARTUP_ERROR_SECONDS) {
    return enter(m, "error", `No answer to M115 from ${m.port ?? m.device}${m.baud ? ` at ${m.baud} baud` : ""}: is it a printer, at the configured baud rate? printlog keeps trying.`, now);
  }
  return null;
}

/** Moonraker's server.info pair. */
export function klippyConnection(m: PrinterModel): { klippy_connected: boolean; klippy_state: KlippyState } {
  return { klippy_connected: m.configured && m.state !== "disconnected", klippy_state: m.state };
}
