// The serial link: opens the port (without toggling DTR where the OS allows), reconnects with
// backoff, splits and caps lines, and sends M-codes one at a time, each waiting for its `ok`.
// It only moves bytes; what the lines mean is decided elsewhere.

import { EventEmitter } from "node:events";
import type { SerialPort } from "serialport";
import { LineCap } from "./line-cap.js";
import { AUTO_PLACES, autoDetect } from "./device.js";
import type { Logger } from "../log.js";
import { MAX_LINE_LENGTH } from "../protocol/events.js";

/** Only M-codes: a Prusa MK3 treats any G-code from the host as the start of a USB print.
 *  Printable ASCII only; 120 characters leave room for an RRF folder path (`M20 S3 P"…"`). */
export const SAFE_COMMAND = /^M\d{1,4}(?:\s[ -~]{0,120})?$/;

export interface LinkOptions {
  /** `auto` or a device path. */
  device: string;
  bauds: number[];
  logger: Logger;
  commandTimeoutMs: number;
  /** Reconnect backoff, doubling from min to max. */
  retryMinMs?: number;
  retryMaxMs?: number;
  now?: () => number;
}

interface Pending {
  command: string;
  resolve: (ok: boolean) => void;
}

/** The lines that answer a query, before its `ok`. A screen start or abort makes Marlin send
 *  `ok`s that answer nothing (a stale queue slot, second round): an `ok` completes a query only
 *  once its answer came, so a stray one never lets a second command go out while one is pending.
 *  Commands not listed complete at their `ok`. */
const ANSWERS: [RegExp, RegExp][] = [
  [/^M78\b/, /^(Stats:|STATS\s)/],
  [/^M114\b/, /^X:\s*-?\d/],
  [/^M27(\s+C)?$/, /^(SD printing byte|Not SD printing|Current file:|SD print paused|Not currently playing|Done printing file)/],
  [/^M115\b/, /FIRMWARE_NAME:/],
  // RRF's JSON listing (`M20 S3`) is one line of its own, never wrapped in `Begin file list`.
  [/^M20 S3\b/, /^\{"dir":/],
  [/^M20\b/, /^End file list/],
];
/** Once the firmware's keep-alive is known, a query that gets neither its answer nor a `busy:`
 *  for this many keep-alive intervals (at least LOST_MIN_S) was lost: Marlin's abort clears its
 *  command queue and never answers what waited in it (second round), and waiting the full
 *  command timeout left printlog blind for 30 s after every screen cancel. */
const LOST_INTERVALS = 3;
const LOST_MIN_S = 5;
/** How long a command timer that fired late (printlog stalled) waits for input already there. */
const STALL_GRACE_MS = 1000;

/** A firmware that does not know the command answers that instead. */
const REFUSED = /(Unknown command|Unknown M code|not supported|^Error:|^echo:\s*Error|No media|No SD card|SD init fail|volume\.init failed)/i;

export function answerShape(command: string): RegExp | null {
  for (const [cmd, answer] of ANSWERS) if (cmd.test(command)) return answer;
  return null;
}

export interface PrinterLinkEvents {
  line: [line: string, time: number];
  open: [path: string, baud: number];
  close: [reason: string];
  /** A command was written to the printer (its answer follows, up to its `ok`). */
  write: [command: string];
}

/** Where printer lines come from and M-codes go: the serial port, or a replayed log. */
export interface LineSource {
  on<K extends keyof PrinterLinkEvents>(event: K, listener: (...args: PrinterLinkEvents[K]) => void): unknown;
  readonly isOpen: boolean;
  readonly busy: boolean;
  lastLineAt: number;
  start(): void;
  stop(): Promise<void>;
  send(command: string): Promise<boolean>;
  nextBaud(): void;
  reconnect(reason: string): void;
  /** The printer restarted: nothing sent before will be answered. */
  abandonPending(): void;
  /** Whether an `ok` completes a query only after its answer (Marlin-family firmwares, which
   *  answer an unknown command with `Unknown command`; others may answer with a bare `ok`). */
  strictAnswers: boolean;
}

export class PrinterLink extends EventEmitter<PrinterLinkEvents> implements LineSource {
  private port: SerialPort | null = null;
  private stopped = false;
  private retryMs: number;
  private retryTimer: NodeJS.Timeout | null = null;
  private queue: Pending[] = [];
  private inflight: (Pending & { timer: NodeJS.Timeout; shape: RegExp | null; answered: boolean }) | null = null;
  /** The last `busy:` keep-alive and the gap before it, seconds (0: none seen on this port). */
  private keepAlive = { last: 0, interval: 0 };
  private baudIndex = 0;
  private lastWaitLog = "";
  /** The last line was cut at the cap: the next one is its rest. */
  private cut = false;
  path: string | null = null;
  strictAnswers = false;
  lastLineAt = 0;

  constructor(private readonly opts: LinkOptions) {
    super();
    this.retryMs = opts.retryMinMs ?? 1000;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)() / 1000;
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  get baud(): number {
    return this.opts.bauds[this.baudIndex] ?? 115200;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.opts.retryMaxMs ?? 30_000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, wait);
    this.retryTimer.unref();
  }

  private connect(): void {
    if (this.stopped) return;
    const path = this.opts.device === "auto" ? autoDetect() : this.opts.device;
    if (!path) {
      const msg = `no printer found; looked in ${AUTO_PLACES.join(", ")}`;
      if (msg !== this.lastWaitLog) this.opts.logger.info("serial.waiting", { looked_in: AUTO_PLACES, note: "waiting for a printer to be plugged in" });
      this.lastWaitLog = msg;
      return this.scheduleRetry();
    }
    this.open(path).catch((err: Error) => {
      this.opts.logger.error("serial.unavailable", { path, error: err.message });
      this.scheduleRetry();
    });
  }

  private async open(path: string): Promise<void> {
    // serialport (a native binding) is loaded once there is a port to open: printlog serving
    // history only, or waiting for a printer, is spared its ~0.15 s of start-up and its memory.
    const [{ SerialPort }, { ReadlineParser }] = await Promise.all([import("serialport"), import("@serialport/parser-readline")]);
    if (this.stopped) return;
    const port = new SerialPort({ path, baudRate: this.baud, autoOpen: false, hupcl: false, lock: true });
    port.open((err) => {
      if (err) {
        const msg = `${path}: ${err.message}`;
        if (msg !== this.lastWaitLog) this.opts.logger.warn("serial.open_failed", { path, error: err.message, retry_s: this.retryMs / 1000 });
        this.lastWaitLog = msg;
        return this.scheduleRetry();
      }
      // Keep DTR as the OS left it: raising it again resets AVR boards on some bridges.
      this.lastWaitLog = "";
      this.retryMs = this.opts.retryMinMs ?? 1000;
      this.port = port;
      this.path = path;
      const lines = port.pipe(new LineCap()).pipe(new ReadlineParser({ delimiter: "\n", encoding: "utf8", includeDelimiter: false }));
      lines.on("data", (line: string) => this.onLine(line));
      port.on("close", () => this.onClose("port closed"));
      port.on("error", (e) => this.opts.logger.warn("serial.error", { path, error: e.message }));
      this.opts.logger.info("serial.open", { path, baud: this.baud });
      this.keepAlive = { last: 0, interval: 0 };
      this.emit("open", path, this.baud);
    });
  }

  private onClose(reason: string): void {
    if (!this.port) return;
    this.port = null;
    this.cut = false;
    this.failAll();
    this.opts.logger.warn("serial.closed", { path: this.path, reason });
    this.emit("close", reason);
    this.scheduleRetry();
  }

  private onLine(raw: string): void {
    const t = this.now();
    this.lastLineAt = t;
    const line = raw.replace(/\r/g, "");
    const trimmed = line.trim();
    // Every line at debug level: what a user sends with a bug report about a wrong record.
    this.opts.logger.debug("serial.recv", { line });
    const inflight = this.inflight;
    // The rest of a line cut at the cap (LineCap) is never an answer or an `ok`: a file name in
    // RRF's one-line JSON listing may read `ok …` right where the line was cut.
    const continued = this.cut;
    this.cut = Buffer.byteLength(raw) >= MAX_LINE_LENGTH;
    if (inflight && !continued) {
      if (!inflight.answered && inflight.shape && (inflight.shape.test(trimmed.replace(/^ok\s+/, "")) || REFUSED.test(trimmed))) inflight.answered = true;
      if (trimmed === "ok" || trimmed.startsWith("ok ") || trimmed.startsWith("ok:")) {
        if (inflight.answered || !inflight.shape) this.complete(true);
        else this.opts.logger.debug("serial.stray_ok", { waiting_for: inflight.command });
      }
    }
    // A keep-alive: the firmware is alive and working, so the command gets more time.
    if (/^(echo:)?\s*busy:/.test(trimmed)) {
      const gap = t - this.keepAlive.last;
      if (this.keepAlive.last > 0 && gap >= 0.5 && gap <= 60) this.keepAlive.interval = gap;
      this.keepAlive.last = t;
      if (inflight) this.armTimer();
    } else if (inflight && /\sW:(\?|\d+)\s*$/.test(trimmed)) {
      // M109/M190 waiting (a build without BUSY_WHILE_HEATING prints only these, each second):
      // the queue is held, not cleared.
      this.armTimer();
    }
    this.emit("line", line, t);
  }

  /** Sends one M-code; resolves true at its `ok`, false on timeout or when the port closes. */
  send(command: string): Promise<boolean> {
    if (!SAFE_COMMAND.test(command)) return Promise.reject(new Error(`refusing to send '${command}': printlog sends only M-codes`));
    if (!this.isOpen) return Promise.resolve(false);
    // Identical queries already waiting answer for this one too.
    const waiting = this.queue.find((p) => p.command === command);
    return new Promise<boolean>((resolve) => {
      if (waiting) {
        const prev = waiting.resolve;
        waiting.resolve = (ok) => {
          prev(ok);
          resolve(ok);
        };
      } else {
        this.queue.push({ command, resolve });
        this.pump();
      }
    });
  }

  get busy(): boolean {
    return this.inflight !== null || this.queue.length > 0;
  }

  /** How long the command in flight may go without its answer or a keep-alive. A card listing
   *  streams for as long as the card is big: it keeps the full timeout. */
  private waitMs(): number {
    const full = this.opts.commandTimeoutMs;
    if (!this.inflight || this.keepAlive.interval <= 0 || /^M20\b/.test(this.inflight.command)) return full;
    return Math.min(full, Math.max(LOST_MIN_S, LOST_INTERVALS * this.keepAlive.interval) * 1000);
  }

  private armTimer(): void {
    const inflight = this.inflight;
    if (!inflight) return;
    clearTimeout(inflight.timer);
    const ms = this.waitMs();
    const due = Date.now() + ms;
    let graced = false;
    const expire = () => {
      // Fired late: printlog itself stalled (an SD card's fsync, swapping), and timers run before
      // the input that waited meanwhile is read. Its answer may be there: look once more.
      if (!graced && Date.now() - due > STALL_GRACE_MS) {
        graced = true;
        inflight.timer = setTimeout(expire, STALL_GRACE_MS).unref();
        return;
      }
      this.opts.logger.debug("serial.timeout", { command: inflight.command });
      this.complete(false);
    };
    inflight.timer = setTimeout(expire, ms).unref();
  }

  private pump(): void {
    if (this.inflight || !this.port?.isOpen) return;
    const next = this.queue.shift();
    if (!next) return;
    // M115's answer is needed whatever the firmware; the others only where stray oks are known.
    const shape = this.strictAnswers || /^M115\b/.test(next.command) ? answerShape(next.command) : null;
    this.inflight = { ...next, timer: setTimeout(() => undefined, 0), shape, answered: false };
    this.armTimer();
    this.emit("write", next.command);
    this.opts.logger.debug("serial.send", { command: next.command });
    this.port.write(next.command + "\n", (err) => {
      if (err) this.opts.logger.warn("serial.write_failed", { command: next.command, error: err.message });
    });
  }

  private complete(ok: boolean): void {
    const done = this.inflight;
    if (!done) return;
    clearTimeout(done.timer);
    this.inflight = null;
    done.resolve(ok);
    this.pump();
  }

  private failAll(): void {
    if (this.inflight) {
      clearTimeout(this.inflight.timer);
      this.inflight.resolve(false);
      this.inflight = null;
    }
    for (const p of this.queue.splice(0)) p.resolve(false);
  }

  abandonPending(): void {
    this.failAll();
  }

  /** Moves to the next configured baud rate (the handshake got no answer) and reconnects. */
  nextBaud(): void {
    if (this.opts.bauds.length < 2) return;
    this.baudIndex = (this.baudIndex + 1) % this.opts.bauds.length;
    this.opts.logger.info("serial.baud_fallback", { baud: this.baud });
    this.reconnect("trying another baud rate");
  }

  /** Closes and reopens the port (an unresponsive printer, a baud change). */
  reconnect(reason: string): void {
    const port = this.port;
    if (!port) return;
    this.onClose(reason);
    port.close(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const port = this.port;
    this.port = null;
    this.failAll();
    if (port?.isOpen) await new Promise<void>((r) => port.close(() => r()));
  }
}
