// A Marlin-family printer on a pseudo-terminal (socat PTY <-> this process), for end-to-end
// tests, `npm run demo` and trying printlog without hardware. It prints what each firmware
// prints (serial-protocol.md §1.2) for prints started, paused, resumed and cancelled from its
// "screen", halts, resets and USB unplugs. Its Marlin 2 dialects behave as the real Marlin
// 2.1.2.1 did (the addendum and its second round): `marlin2` is the *plain* build, `marlin2_host`
// the *rich* one (host actions, SD autoreport, long names, M73).
//   node dist/scripts/virtual-printer.js --link /tmp/printer --dialect marlin2 [--seconds 60]
//     [--printcounter] [--m20-timestamps]
// then type: start <file> | pause | resume | cancel | m524 | halt | reset | unplug | plug | status

import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { createInterface } from "node:readline";
import { VP_DIALECTS, fileList, firmwareLines, rrfPath, type VpDialect, type VpFile } from "./virtual-printer-text.js";

export { VP_DIALECTS, type VpDialect, type VpFile } from "./virtual-printer-text.js";

export interface VpOptions {
  link: string;
  dialect: VpDialect;
  files?: VpFile[];
  /** How long a print of a file up to 120 kB takes, seconds (larger files take longer). */
  printSeconds?: number;
  /** Marlin PRINTCOUNTER (M78 statistics). */
  printcounter?: boolean;
  /** Marlin 2: the file's homing and heat-up (M109) after a start, seconds (default 1.5): the
   *  position stands and `echo:busy: processing` comes every 2 s. */
  heatSeconds?: number;
  /** Marlin 2: the abort G-code (`G28XY`) a cancel runs first, seconds (7 s on the real one). */
  abortSeconds?: number;
  /** Marlin 2: how long a query waits in the command queue behind moves while printing, ms. */
  queueDelayMs?: number;
  /** Marlin 2 built with M20_TIMESTAMP_SUPPORT: `M20 T` dates the files. It adds no `Cap:` line
   *  (M115.cpp reports only EXTENDED_M20, for LONG_FILENAME_HOST_SUPPORT). */
  m20Timestamps?: boolean;
}

export const DEFAULT_FILES: VpFile[] = [
  { sfn: "BENCHY~1.GCO", long: "benchy_0.2mm_PLA.gcode", size: 240_000, filament: 4200, modified: Date.UTC(2026, 10, 2, 9, 15, 42) / 1000 },
  { sfn: "CUBE~1.GCO", long: "calibration cube.gcode", size: 60_000, filament: 900, modified: Date.UTC(2025, 1, 28, 23, 59, 58) / 1000 },
  { sfn: "VASE~1.GCO", long: "spiral vase.gcode", size: 120_000, filament: 2500, modified: Date.UTC(2024, 6, 14, 18, 0, 0) / 1000 },
];

interface Print {
  file: VpFile;
  pos: number;
  paused: boolean;
  startedAt: number;
  doneSent: boolean;
  /** E extruded since the print began, mm (the truth a recorder should approach). */
  extruded: number;
  /** E at the last G92 E0 (a "layer change"). */
  eBase: number;
  raceNotPrinting: boolean;
  /** Until when the file's heat-up holds the position (seconds since the epoch). */
  heatUntil: number;
  /** M1001 ran: the file stays open, its position standing, the job timer stopped. */
  stuck: boolean;
}

export class VirtualPrinter {
  readonly files: VpFile[];
  readonly received: string[] = [];
  /** True if a G-code ever reached a Prusa MK3 while idle (it would start a "USB print"). */
  hostPrintingTriggered = false;
  private socat: ChildProcess | null = null;
  private slaveFd: number | null = null;
  private print: Print | null = null;
  /** A file opened and selected but not printed (M23 from another host on a second port). */
  private selectedOnly: VpFile | null = null;
  private lastExtruded = 0;
  /** Timings of the current or last print, seconds since the epoch (the truth for tests). */
  timing = { startedAt: 0, endedAt: 0, pausedSeconds: 0, pausedAt: 0 };
  /** The logical E position, which firmware keeps after a print ends. */
  private lastE = 0;
  private halted = false;
  private timer: NodeJS.Timeout | null = null;
  private autoreport: NodeJS.Timeout | null = null;
  private inbuf = "";
  private stats = { prints: 10, finished: 8, failed: 2, filamentMm: 123456 };
  /** Commands waiting in the firmware's queue (answered later, or dropped by an abort). */
  private queued = new Map<NodeJS.Timeout, string>();
  /** The abort G-code is running: commands wait until it ends. */
  private abortingUntil = 0;
  private abortWaiting: string[] = [];
  private busyTimer: NodeJS.Timeout | null = null;
  /** Commands received while an earlier one was still unanswered: a host with two in flight. */
  overlaps = 0;
  private unanswered = 0;
  private prusaStatsCm = 54321;

  constructor(readonly opts: VpOptions) {
    this.files = opts.files ?? DEFAULT_FILES;
  }

  get dialect(): VpDialect {
    return this.opts.dialect;
  }

  /** Filament extruded by the current or last print, mm. */
  get extruded(): number {
    return this.print ? this.print.extruded : this.lastExtruded;
  }

  get printing(): boolean {
    return this.print !== null;
  }

  /** Creates the pseudo-terminal at `link` ("plugs the USB cable in"). */
  async plug(): Promise<void> {
    if (this.socat) return;
    const proc = spawn("socat", [`PTY,link=${this.opts.link},raw,echo=0`, "STDIO"], { stdio: ["pipe", "pipe", "ignore"] });
    this.socat = proc;
    proc.stdout!.on("data", (d: Buffer) => this.onData(d.toString("latin1")));
    proc.on("exit", () => {
      if (this.socat === proc) this.socat = null;
    });
    for (let i = 0; i < 100 && !existsSync(this.opts.link); i++) await new Promise((r) => setTimeout(r, 20));
    if (!existsSync(this.opts.link)) throw new Error(`socat did not create ${this.opts.link}`);
    // Hold the terminal side open so socat survives the host closing and reopening the port.
    this.slaveFd = openSync(this.opts.link, "r+");
  }

  /** Removes the pseudo-terminal ("pulls the USB cable"); an SD print carries on. */
  async unplug(): Promise<void> {
    const proc = this.socat;
    if (!proc) return;
    if (this.slaveFd !== null) closeSync(this.slaveFd);
    this.slaveFd = null;
    this.socat = null;
    await new Promise<void>((r) => {
      proc.once("exit", () => r());
      proc.kill("SIGTERM");
    });
  }

  /** Queries waiting in the firmware's command queue now. */
  get queuedQueries(): number {
    return this.queued.size;
  }

  /** Lines the firmware prints (also a test's way to make it print an `Error:`). */
  write(...lines: string[]): void {
    if (!this.socat?.stdin?.writable || this.muted) return;
    this.socat.stdin.write(lines.map((l) => l + "\n").join(""));
  }

  private onData(text: string): void {
    this.inbuf += text;
    if (this.inbuf.length > 4096) this.inbuf = this.inbuf.slice(-4096);
    let nl: number;
    while ((nl = this.inbuf.search(/[\r\n]/)) !== -1) {
      const line = this.inbuf.slice(0, nl).trim();
      this.inbuf = this.inbuf.slice(nl + 1);
      if (line) this.receive(line);
    }
  }

  private get marlin2(): boolean {
    return this.dialect === "marlin2" || this.dialect === "marlin2_host";
  }

  /** Marlin 2 queues host commands behind the file's: while printing a query waits a moment;
   *  while the abort G-code runs it waits until the abort ends (addendum, second round). */
  private receive(line: string): void {
    if (this.halted || this.muted) {
      this.received.push(line);
      return;
    }
    if (this.unanswered > 0) this.overlaps += 1;
    this.unanswered += 1;
    if (this.marlin2 && Date.now() < this.abortingUntil) {
      this.abortWaiting.push(line);
      return;
    }
    const p = this.print;
    const delay = this.opts.queueDelayMs ?? (this.marlin2 ? 150 : 0);
    if (this.marlin2 && p && !p.paused && !p.stuck && delay > 0) {
      const t = setTimeout(() => {
        this.queued.delete(t);
        this.command(line);
      }, delay);
      this.queued.set(t, line);
      return;
    }
    this.command(line);
  }

  /** `echo:busy: processing` every 2 s while the firmware is blocked (a heat-up, the abort). */
  private keepAlive(until: number): void {
    if (this.busyTimer) clearInterval(this.busyTimer);
    this.busyTimer = setInterval(() => {
      if (Date.now() / 1000 >= until || this.halted) {
        if (this.busyTimer) clearInterval(this.busyTimer);
        this.busyTimer = null;
        return;
      }
      this.write("echo:busy: processing");
    }, 2000);
    this.busyTimer.unref();
  }

  // ---- the firmware's answers to host commands ----

  private progressLines(forCurrentFile = false): string[] {
    const p = this.print;
    const d = this.dialect;
    if (forCurrentFile && (d === "marlin2" || d === "marlin2_host")) {
      // `M27 C` names the open file while printing and while paused; the long name only with
      // LONG_FILENAME_HOST_SUPPORT, cut at 26 characters (MAX_VFAT_ENTRIES 2).
      const f = p?.file ?? this.selectedOnly;
      return [f ? `Current file: ${f.sfn}${d === "marlin2_host" ? " " + f.long.slice(0, 26) : ""}` : "Current file: (no file)"];
    }
    if (forCurrentFile && d === "buddy") return [p ? `Current file: /usb/${p.file.sfn}` : "Current file: (no file)"];
    if (!p) return [d === "rrf" ? "Not SD printing." : "Not SD printing"];
    if (p.raceNotPrinting) {
      p.raceNotPrinting = false; // Prusa-Link #252: one spurious report right after a screen start
      return ["Not SD printing"];
    }
    const bytes = `SD printing byte ${Math.floor(p.pos)}/${p.file.size}`;
    if (p.paused) {
      if (d === "prusa_mk3") return ["SD print paused"];
      if (d === "marlin1" || d === "buddy") return ["Not SD printing"]; // P2
      return [bytes]; // Marlin 2.1.2.1 keeps the position standing while paused (second round); RRF likewise here
    }
    if (d === "prusa_mk3") {
      const mins = Math.floor((Date.now() / 1000 - p.startedAt) / 60);
      return [p.file.long, bytes, `${Math.floor(mins / 60)}:${mins % 60}`];
    }
    return [bytes];
  }

  /** A printer that has stopped answering (hung firmware, a wedged USB bridge). */
  muted = false;

  /** Sends line noise: random bytes, an over-long line without newline, invalid UTF-8, NULs. */
  noise(): void {
    if (!this.socat?.stdin?.writable) return;
    const random = Buffer.alloc(512);
    for (let i = 0; i < random.length; i++) random[i] = Math.floor(Math.random() * 256);
    this.socat.stdin.write(random);
    this.socat.stdin.write(Buffer.alloc(100_000, 0x41)); // 100 kB with no newline
    this.socat.stdin.write(Buffer.from([0x0a, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0x0a])); // invalid UTF-8
    this.socat.stdin.write(Buffer.from("\0\0ok\0\nSD printing \0byte\n\r\n", "latin1"));
  }

  private command(line: string): void {
    this.received.push(line);
    this.unanswered = Math.max(0, this.unanswered - 1);
    if (this.halted || this.muted) return; // a killed or hung firmware answers nothing
    const m = /^(?:N\d+\s+)?([GMT]\d+)\s*(.*?)(?:\*\d+)?$/.exec(line);
    const code = m?.[1]?.toUpperCase() ?? "";
    const args = m?.[2] ?? "";
    if (code.startsWith("G") && this.dialect === "prusa_mk3" && !this.print) this.hostPrintingTriggered = true;
    const out: string[] = [];
    switch (code) {
      case "M115":
        out.push(...firmwareLines(this.dialect));
        break;
      case "M27": {
        const s = /S(\d+)/.exec(args);
        if (s && (this.dialect === "marlin2_host")) {
          if (this.autoreport) clearInterval(this.autoreport);
          const every = Number(s[1]) * 1000;
          this.autoreport = every > 0 ? setInterval(() => this.write(...this.progressLines()), every) : null;
          this.autoreport?.unref();
        } else {
          out.push(...this.progressLines(/C/.test(args) && this.dialect !== "marlin1" && this.dialect !== "rrf" && this.dialect !== "prusa_mk3"));
        }
        break;
      }
      case "M20":
        out.push(...fileList(this.dialect, this.files, args, this.opts.m20Timestamps ?? false));
        break;
      case "M78":
        if (this.dialect === "prusa_mk3") out.push(`STATS ${1234} min ${this.prusaStatsCm} cm.`);
        else if (this.opts.printcounter) {
          // PRINTCOUNTER adds filament as the moves are planned: a running print counts already.
          const live = this.print && !this.print.stuck ? this.print.extruded : 0;
          out.push(
            `Stats: Prints: ${this.stats.prints}, Finished: ${this.stats.finished}, Failed: ${this.stats.failed}`,
            "Stats: Total time: 3d 4h 5m 6s, Longest job: 0d 8h 0m 0s",
            `Stats: Filament used: ${((this.stats.filamentMm + live) / 1000).toFixed(2)}m`,
          );
        } else out.push(this.unknown(code, line));
        break;
      case "M114": {
        const e = this.currentE();
        out.push(
          this.dialect === "prusa_mk3"
            ? `X:10.00 Y:20.00 Z:0.20 E:${e.toFixed(2)} Count X: 10.00 Y:20.00 Z:0.20 E:${e.toFixed(2)}`
            : `X:${this.print ? ((this.print.pos % 2000) / 10).toFixed(2) : "10.00"} Y:20.00 Z:0.20 E:${e.toFixed(2)} Count X:800 Y:1600 Z:80`,
        );
        break;
      }
      case "M105":
        out.push("ok T:210.00 /210.00 B:60.00 /60.00 @:40 B@:0");
        this.write(...out);
        return;
      case "M409":
        if (this.dialect === "rrf" && /job\.file\.fileName/.test(args)) {
          out.push(`{"key":"job.file.fileName","flags":"","result":${this.print ? JSON.stringify(rrfPath(this.print.file)) : "null"}}`);
        } else out.push(this.unknown(code, line));
        break;
      case "M31":
        if (this.print && this.dialect !== "rrf") {
          const secs = Math.round(Date.now() / 1000 - this.print.startedAt);
          out.push(this.dialect === "prusa_mk3" ? `echo:${Math.floor(secs / 60)} min, ${secs % 60} sec` : `echo:Print time: ${Math.floor(secs / 60)}m ${secs % 60}s`);
        }
        break;
      case "M155":
      case "M110":
      case "M73":
        break;
      default:
        out.push(this.unknown(code, line));
    }
    out.push("ok");
    this.write(...out);
  }

  /** How each firmware refuses a code it lacks: Marlin (and Buddy, built on it) `echo:Unknown
   *  command: "M36"` (`GCodeParser::unknown_command_error`); RRF looks for a macro `M36.g`, then
   *  warns (`GCodes::TryMacroFile`, `HandleResult`: `warningNotSupported`). */
  private unknown(code: string, line: string): string {
    return this.dialect === "rrf" ? `Warning: ${code}: Command is not supported` : `echo:Unknown command: "${line}"`;
  }

  // ---- the printer's screen ----

  /** The logical E position: the print's, or what the last print left. */
  private currentE(): number {
    return this.print ? this.print.extruded - this.print.eBase : this.lastE;
  }

  /** Marlin 2: a file opened and selected, never printed (an M23 from a host on another port
   *  echoes `File opened` / `File selected` on every port; M27 stays `Not SD printing`). */
  selectOnly(name?: string): VpFile {
    const file = this.files.find((f) => f.sfn === name || f.long === name) ?? this.files[0]!;
    if (this.print) throw new Error("already printing");
    this.selectedOnly = file;
    this.write(`echo:Now fresh file: ${file.sfn}`, `File opened: ${file.sfn} Size: ${file.size}`, "File selected");
    return file;
  }

  /** Marlin 2: the selected file printed by that host's M24 (on its own port: nothing is printed
   *  on this one). */
  printSelected(): VpFile {
    if (!this.selectedOnly) throw new Error("no file selected");
    return this.startPrint(this.selectedOnly.sfn, true);
  }

  startPrint(name?: string, silent = false): VpFile {
    const file = this.files.find((f) => f.sfn === name || f.long === name) ?? this.files[0]!;
    this.selectedOnly = null;
    if (this.print?.stuck) this.endPrint(); // a new selection closes the file M1001 left open
    if (this.print) throw new Error("already printing");
    const d = this.dialect;
    const lines: string[] = [];
    if (d === "marlin1") lines.push(`echo:enqueueing "M23 ${file.sfn.toLowerCase()}"`);
    if (d === "marlin2" || d === "marlin2_host" || d === "marlin1" || d === "prusa_mk3") lines.push(`echo:Now fresh file: ${file.sfn.toLowerCase()}`);
    // The LCD path lower-cases the 8.3 name (second round); M20 and M27 C keep the card's spelling.
    if (d === "marlin2" || d === "marlin2_host") lines.push(`File opened: ${file.sfn.toLowerCase()} Size: ${file.size}`, "File selected");
    if (d === "marlin1") lines.push(`File opened:${file.sfn.toLowerCase()} Size:${file.size}`, "File selected", `echo:enqueueing "M24"`);
    if (d === "prusa_mk3") lines.push(`File opened: /${file.long} Size: ${file.size}`, "File selected", `echo:enqueing "M23 ${file.sfn.toLowerCase()}"`, `echo:enqueing "M24"`);
    if (d === "marlin2_host") lines.push("//action:prompt_end", "//action:prompt_begin Resuming SD", "//action:prompt_button Dismiss", "//action:prompt_show", "//action:resume", `//action:notification ${file.long}`);
    if (d === "buddy") lines.push(`File opened: /usb/${file.sfn} Size:${file.size}`);
    if (this.opts.printcounter) this.stats.prints += 1;
    this.timing = { startedAt: Date.now() / 1000, endedAt: 0, pausedSeconds: 0, pausedAt: 0 };
    // A real start G-code homes and heats before the first extrusion: the position stands a moment.
    const heat = this.marlin2 ? (this.opts.heatSeconds ?? 1.5) : 0;
    // Until the file's own G92 E0 runs, E is what the last print left (a real firmware keeps it).
    const eBefore = this.marlin2 && heat > 0 ? this.lastE : 0;
    this.print = {
      file,
      pos: 0,
      paused: false,
      startedAt: Date.now() / 1000,
      doneSent: false,
      extruded: 0,
      eBase: -eBefore,
      raceNotPrinting: d === "prusa_mk3",
      heatUntil: Date.now() / 1000 + heat,
      stuck: false,
    };
    // A screen start leaves a stale queue slot: an `ok` that answers nothing (second round).
    if (this.marlin2) lines.push("ok");
    if (!silent) this.write(...lines);
    if (heat > 0) this.keepAlive(Date.now() / 1000 + heat);
    this.run();
    return file;
  }

  private run(): void {
    if (this.timer) return;
    const stepMs = 100;
    this.timer = setInterval(() => {
      const p = this.print;
      if (!p || p.paused || p.stuck || this.halted) return; // a muted printer keeps printing
      if (Date.now() / 1000 < p.heatUntil) return; // M109: the position stands while heating
      if (p.eBase < 0) p.eBase = 0; // the start G-code's G92 E0
      // printSeconds is the time for a file of up to 120 kB; larger files take longer. Read at
      // every step: a change speeds up or slows down the running print.
      const seconds = (this.opts.printSeconds ?? 20) * Math.max(1, p.file.size / 120_000);
      const perStep = p.file.size / (seconds * (1000 / stepMs));
      const before = p.pos;
      p.pos = Math.min(p.file.size, p.pos + perStep);
      const e = (p.file.filament * (p.pos - before)) / p.file.size;
      p.extruded += e;
      // Prusa's PrusaSlicer profiles reset E at every layer change (§3.1); Cura-style files on
      // the others keep absolute E. Layers here: every 10 % of the file.
      if (this.dialect === "prusa_mk3" && Math.floor((p.pos / p.file.size) * 10) !== Math.floor((before / p.file.size) * 10)) p.eBase = p.extruded;
      if (p.file.m1001At !== undefined && p.pos >= p.file.size * p.file.m1001At && !p.doneSent) {
        // M1001 half-way (second round): `Done printing file`, the job timer stops, PRINTCOUNTER
        // counts a finished print, and the file stays open with its position standing for ever.
        p.doneSent = true;
        p.stuck = true;
        const secs = Math.round(Date.now() / 1000 - p.startedAt);
        this.timing.endedAt = Date.now() / 1000;
        this.stats.finished += this.opts.printcounter ? 1 : 0;
        this.stats.filamentMm += p.extruded;
        this.write(`echo:Print time: ${Math.floor(secs / 60)}m ${secs % 60}s`, "Done printing file");
        return;
      }
      if (p.pos >= p.file.size && !p.doneSent) {
        p.doneSent = true;
        // The position reaches the size a moment before `Done printing file` (addendum).
        setTimeout(() => this.complete(), 600).unref();
      }
    }, stepMs);
    this.timer.unref();
  }

  private endPrint(): void {
    if (this.print) {
      if (!this.print.stuck) this.timing.endedAt = Date.now() / 1000;
      this.lastExtruded = this.print.extruded;
      this.lastE = this.print.extruded - this.print.eBase;
    }
    this.print = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private complete(): void {
    const p = this.print;
    if (!p || this.halted) return;
    const d = this.dialect;
    const secs = Math.round(Date.now() / 1000 - p.startedAt);
    this.stats.finished += this.opts.printcounter ? 1 : 0;
    this.stats.filamentMm += p.extruded;
    this.prusaStatsCm += Math.round(p.extruded / 10);
    this.endPrint();
    if (d === "rrf") this.write("Done printing file", `Finished printing file ${rrfPath(p.file)}, print time was 0h ${Math.round(secs / 60)}m`);
    else if (d === "prusa_mk3") this.write("Done printing file", `echo:0 hours ${Math.round(secs / 60)} minutes`);
    else this.write(`echo:Print time: ${Math.floor(secs / 60)}m ${secs % 60}s`, "Done printing file");
  }

  pause(): void {
    const p = this.print;
    if (!p || p.paused || p.stuck) return;
    p.paused = true;
    this.timing.pausedAt = Date.now() / 1000;
    const d = this.dialect;
    if (d === "marlin2_host") this.write("//action:prompt_end", "//action:prompt_begin Pause SD", "//action:prompt_button Resume", "//action:prompt_show", "//action:pause");
    if (d === "marlin1") this.write(`echo:enqueueing "M25"`);
    if (d === "prusa_mk3") this.write("//action:paused");
    if (d === "buddy") this.write("// action:pause");
  }

  resume(): void {
    const p = this.print;
    if (!p || !p.paused) return;
    p.paused = false;
    this.timing.pausedSeconds += Date.now() / 1000 - this.timing.pausedAt;
    const d = this.dialect;
    if (d === "marlin2_host") this.write("//action:resume");
    if (d === "marlin1") this.write(`echo:enqueueing "M24"`);
    if (d === "prusa_mk3") this.write("//action:resumed");
    if (d === "buddy") this.write("// action:resume");
  }

  /** An `M109` in the middle of the file (a temperature change): the position stands and
   *  `echo:busy: processing` comes every 2 s until the heater is at temperature. */
  heatMidPrint(seconds: number): void {
    const p = this.print;
    if (!p || p.paused || p.stuck) return;
    p.heatUntil = Date.now() / 1000 + seconds;
    this.keepAlive(p.heatUntil);
  }

  /** A cancel from the printer's screen. */
  cancel(): void {
    this.stop("screen");
  }

  /** `M524` from another host (a port printlog does not see): no line at all on this one. */
  hostCancel(): void {
    this.stop("m524");
  }

  /** A firmware error (e.g. a failed probe) and the print stopped after it. */
  errorStop(message: string): void {
    if (!this.print) return;
    this.write(`Error:${message}`);
    this.stop("m524");
  }

  private stop(how: "screen" | "m524"): void {
    const p = this.print;
    if (!p) return;
    const d = this.dialect;
    // PRINTCOUNTER counts a screen abort as Finished (the job timer is stopped first) and an
    // M524 cancel as Failed (second round); other firmwares count a cancel as failed.
    if (this.opts.printcounter) {
      if (this.marlin2 && how === "screen") this.stats.finished += 1;
      else this.stats.failed += 1;
    }
    this.stats.filamentMm += p.extruded;
    this.endPrint();
    if (this.marlin2) this.abort(how);
    if (d === "marlin2_host" && how === "screen") this.write("//action:cancel", "//action:prompt_begin UI Aborted", "//action:prompt_button Dismiss", "//action:prompt_show", "//action:notification Print Aborted");
    if (d === "buddy") this.write("Done printing file"); // Buddy ≥6.3 prints it on abort too
    if (d === "rrf") this.write("Done printing file", `Cancelled printing file ${rrfPath(p.file)}, print time was 0h 1m`);
  }

  /** Marlin 2's abort: the command queue is cleared (a query waiting in it is never answered),
   *  the abort G-code (`G28XY`) runs with `busy: processing` every 2 s and holds every later
   *  command, stray `ok`s come, and a stale position line follows the abort (second round). */
  /** Queries the abort cleared from the queue (never answered). */
  dropped: string[] = [];

  private abort(how: "screen" | "m524"): void {
    for (const [t, line] of this.queued) {
      clearTimeout(t);
      this.dropped.push(line);
    }
    this.unanswered = Math.max(0, this.unanswered - this.queued.size);
    this.queued.clear();
    const seconds = this.opts.abortSeconds ?? 7;
    this.abortingUntil = Date.now() + seconds * 1000;
    if (how === "screen") this.write("ok", "ok");
    this.keepAlive(Date.now() / 1000 + seconds);
    setTimeout(() => {
      if (this.halted) return;
      this.abortingUntil = 0;
      this.write(`X:0.00 Y:0.00 Z:0.20 E:${this.currentE().toFixed(2)} Count X:0 Y:0 Z:80`);
      for (const line of this.abortWaiting.splice(0)) this.command(line);
    }, seconds * 1000).unref();
  }

  halt(): void {
    const d = this.dialect;
    this.endPrint();
    if (d === "prusa_mk3") {
      this.write("Error: HOTEND THERMAL RUNAWAY", "Error:Printer halted. kill() called!");
      setTimeout(() => this.reset(), 300).unref(); // Prusa soft-resets after kill()
      return;
    }
    this.write("Error:Thermal Runaway, system stopped! Heater_ID: E0", "Error:Printer halted. kill() called!", "//action:poweroff");
    this.halted = true;
  }

  reset(): void {
    this.endPrint();
    this.halted = false;
    this.abortingUntil = 0;
    this.abortWaiting = [];
    this.unanswered = 0;
    for (const t of this.queued.keys()) clearTimeout(t);
    this.queued.clear();
    if (this.autoreport) clearInterval(this.autoreport);
    this.autoreport = null;
    const banner = this.dialect === "prusa_mk3" ? ["start", " External Reset", "echo: 3.13.3-7094"] : ["start", "echo:External Reset", "Marlin 2.1.2.1", "echo:SD card ok"];
    this.write(...banner);
  }

  close(): Promise<void> {
    this.endPrint();
    if (this.busyTimer) clearInterval(this.busyTimer);
    for (const t of this.queued.keys()) clearTimeout(t);
    if (this.autoreport) clearInterval(this.autoreport);
    return this.unplug();
  }
}

// ---- command line ----
async function main(argv: string[]): Promise<void> {
  const get = (name: string, def: string) => {
    const i = argv.indexOf(`--${name}`);
    return i === -1 ? def : (argv[i + 1] ?? def);
  };
  const dialect = get("dialect", "marlin2") as VpDialect;
  if (!VP_DIALECTS.includes(dialect)) throw new Error(`--dialect must be one of ${VP_DIALECTS.join(", ")}`);
  const vp = new VirtualPrinter({ link: get("link", "/tmp/printlog-printer"), dialect, printSeconds: Number(get("seconds", "60")), printcounter: argv.includes("--printcounter"), m20Timestamps: argv.includes("--m20-timestamps") });
  await vp.plug();
  process.stdout.write(`virtual ${dialect} printer on ${vp.opts.link}; commands: start [file] | pause | resume | cancel | m524 | halt | reset | unplug | plug | status | quit\n`);
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    const [cmd, ...rest] = line.trim().split(/\s+/);
    try {
      if (cmd === "start") process.stdout.write(`printing ${vp.startPrint(rest.join(" ") || undefined).long}\n`);
      else if (cmd === "pause") vp.pause();
      else if (cmd === "resume") vp.resume();
      else if (cmd === "cancel") vp.cancel();
      else if (cmd === "m524") vp.hostCancel();
      else if (cmd === "halt") vp.halt();
      else if (cmd === "reset") vp.reset();
      else if (cmd === "unplug") await vp.unplug();
      else if (cmd === "plug") await vp.plug();
      else if (cmd === "status") process.stdout.write(`${vp.printing ? "printing" : "idle"}, extruded ${vp.extruded.toFixed(1)} mm\n`);
      else if (cmd === "quit") break;
      else if (cmd) process.stdout.write(`unknown command '${cmd}'\n`);
    } catch (e) {
      process.stdout.write(`${(e as Error).message}\n`);
    }
  }
  await vp.close();
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, "/"))) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`virtual-printer: ${(e as Error).message}\n`);
    process.exit(2);
  });
}
