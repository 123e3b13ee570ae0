// The recorder: feeds every line from the printer link through the parser and the job reducer,
// carries out the reducer's effects on the history store in order, and runs the poll schedule.
// It decides nothing itself; the rules live in reducer.ts.

import type { HistoryStore } from "../history/store.js";
import type { FinishStatus, JobRecord } from "../history/types.js";
import type { Logger } from "../log.js";
import { parseLine } from "../protocol/parse.js";
import type { PrinterEvent } from "../protocol/events.js";
import { dueCommands, newPollMemory, setupCommands, type PollMemory, type PollSettings } from "../serial/poll-plan.js";
import type { LineSource } from "../serial/link.js";
import { readGcodeMetadata } from "../files/slicer-metadata.js";
import { resolveInside } from "../files/gcode-dir.js";
import { initialRecorderState, reduce, rememberClosedId } from "./reducer.js";
import type { Effect, RecorderInput, RecorderState, ReducerOptions } from "./types.js";

export interface RecorderOptions extends ReducerOptions, PollSettings {
  gcodeDir: string | null;
  /** No line at all for this long while commands time out: close and reopen the port. */
  silentSeconds: number;
  handshakeSeconds: number;
}

/** Statuses of a job a restarted printlog may find still printing and continue. */
const ADOPTABLE = new Set(["interrupted", "server_exit", "klippy_disconnect"]);

/** Lines observed by a line-level hook (the serial-line aux rules). */
export type LineHook = (line: string, time: number) => void;

export class Recorder {
  readonly state: RecorderState = initialRecorderState();
  private poll: PollMemory = newPollMemory();
  private chain: Promise<void> = Promise.resolve();
  private ticker: NodeJS.Timeout | null = null;
  private recent: string[] = [];
  private currentJobId: string | null = null;
  private handshake = { attempts: 0, sentAt: 0 };
  private lineHooks: LineHook[] = [];
  private stopped = false;

  constructor(
    private readonly link: LineSource,
    private readonly store: HistoryStore,
    private readonly logger: Logger,
    private readonly opts: RecorderOptions,
    private readonly now: () => number = () => Date.now() / 1000,
  ) {
    this.adoptFromHistory();
    link.on("line", (line, t) => this.onLine(line, t));
    link.on("open", () => this.onOpen());
    link.on("close", (reason) => this.input({ type: "link_lost", reason }, this.now()));
  }

  /** A job printlog was recording when it last stopped may still be printing: remember it. */
  private adoptFromHistory(): void {
    const last: JobRecord | undefined = this.store.jobs[this.store.jobs.length - 1];
    if (!last || !ADOPTABLE.has(last.status)) return;
    const size = typeof last.metadata["size"] === "number" ? (last.metadata["size"] as number) : null;
    const endedAt = last.end_time ?? last.last_checkpoint ?? last.start_time + last.total_duration;
    this.state.lastClosed = {
      jobId: last.job_id,
      filename: last.filename,
      sfn: last.printer_file,
      size,
      pos: size !== null && last.progress !== null ? Math.floor(last.progress * size * 0.98) : 0,
      endedAt,
      status: last.status as FinishStatus | "interrupted",
      reopenUntil: endedAt + 7 * 24 * 3600,
      filament: { source: (last.filament_source as "m78" | "m114" | null) ?? null, used: last.filament_used, eLast: null, m78Start: null },
      startedAt: last.start_time,
      pausedTotal: Math.max(0, last.total_duration - last.print_duration),
      prusaStatsStart: null,
    };
  }

  onLine(line: string, time: number): void {
    this.recent.push(line);
    if (this.recent.length > 8) this.recent.shift();
    for (const hook of this.lineHooks) hook(line, time);
    const ev = parseLine(line, { dialect: this.state.dialect, inFileList: this.state.inFileList });
    this.observe(ev, time);
    this.input(ev, time);
  }

  addLineHook(hook: LineHook): void {
    this.lineHooks.push(hook);
  }

  private observe(ev: PrinterEvent, time: number): void {
    if (ev.type === "firmware") {
      this.logger.info("printer.identified", { firmware: ev.name, dialect: ev.dialect, machine: ev.machine });
      this.handshake.attempts = 0;
    }
    if (ev.type === "boot") {
      this.logger.warn("printer.reset", { note: "the printer printed its start banner" });
      this.poll = newPollMemory();
      this.handshake = { attempts: 0, sentAt: time };
      setTimeout(() => void this.send("M115"), 1500).unref();
    }
    if (ev.type === "ok" && !this.poll.handshakeDone && this.state.firmware !== null) {
      this.poll.handshakeDone = true;
      this.poll.autoreportSd = this.state.caps["AUTOREPORT_SD_STATUS"] === true;
      this.logger.info("printer.watching", {
        dialect: this.state.dialect,
        progress: this.poll.autoreportSd ? "M27 autoreport" : "M27 polling",
        caps: Object.keys(this.state.caps).filter((k) => this.state.caps[k]),
      });
      for (const cmd of setupCommands(this.state, this.opts)) void this.send(cmd);
    }
  }

  /** Feeds one input to the reducer and queues its effects. */
  input(input: RecorderInput, time: number): void {
    const { effects } = reduce(this.state, input, time, this.opts);
    for (const e of effects) this.enqueue(e);
  }

  private enqueue(effect: Effect): void {
    if (effect.kind === "query") {
      void this.send(effect.command);
      return;
    }
    this.chain = this.chain.then(() => this.apply(effect)).catch((err) => {
      this.logger.error("recorder.store_failed", { effect: effect.kind, error: (err as Error).message });
    });
  }

  private logTransition(event: string, fields: Record<string, unknown>): void {
    this.logger.info(event, { ...fields, lines: this.recent.slice(-4) });
  }

  private async apply(e: Exclude<Effect, { kind: "query" }>): Promise<void> {
    const id = this.currentJobId;
    switch (e.kind) {
      case "start": {
        const local = await this.localMetadata(e.filename, e.sfn);
        const job = await this.store.startJob({
          filename: e.filename,
          start_time: e.time,
          metadata: { ...e.metadata, ...local },
          printer_file: e.sfn,
          cause: e.cause,
        });
        this.currentJobId = job.job_id;
        this.logTransition("job.started", { job_id: job.job_id, filename: e.filename, cause: e.cause });
        return;
      }
      case "update":
        if (!id) return;
        if (e.fields.filename) {
          const local = await this.localMetadata(e.fields.filename, null);
          const job = this.store.getJob(id);
          const metadata = local && job ? { ...job.metadata, ...local } : undefined;
          await this.store.updateJob(id, e.time, { ...e.fields, ...(metadata ? { metadata } : {}) }, undefined, true);
          this.logger.info("job.renamed", { job_id: id, filename: e.fields.filename });
          return;
        }
        await this.store.updateJob(id, e.time, e.fields, undefined, e.fields.start_time !== undefined);
        return;
      case "pause":
        if (!id) return;
        await this.store.pauseJob(id, e.time, e.fields, e.reason);
        this.logTransition("job.paused", { job_id: id, cause: e.reason });
        return;
      case "resume":
        if (!id) return;
        await this.store.resumeJob(id, e.time, e.fields, e.reason);
        this.logTransition("job.resumed", { job_id: id, cause: e.reason });
        return;
      case "finish": {
        if (!id) return;
        this.currentJobId = null;
        rememberClosedId(this.state, id);
        await this.store.finishJob(id, e.status, e.time, { ...e.fields, ...(e.errorMessage ? { error_message: e.errorMessage } : {}) }, e.reason);
        this.logTransition("job.finished", { job_id: id, status: e.status, cause: e.reason });
        return;
      }
      case "reopen": {
        const target = e.jobId ?? this.lastFinishedId();
        if (!target) return;
        const job = await this.store.reopenJob(target, e.time, e.reason);
        if (job) {
          this.currentJobId = job.job_id;
          this.logTransition("job.reopened", { job_id: job.job_id, cause: e.reason });
        }
        return;
      }
      case "amend_filament": {
        const target = e.jobId ?? this.lastFinishedId();
        if (!target) return;
        await this.store.amendFilament(target, e.filament_used, e.source);
        this.logger.info("job.filament_amended", { job_id: target, filament_used: e.filament_used, source: e.source });
        return;
      }
    }
  }

  private lastFinishedId(): string | null {
    const jobs = this.store.jobs;
    return jobs.length > 0 ? jobs[jobs.length - 1]!.job_id : null;
  }

  /** Size, mtime and slicer metadata when the file is in the configured G-code directory. */
  private async localMetadata(filename: string, sfn: string | null): Promise<Record<string, unknown>> {
    const dir = this.opts.gcodeDir;
    if (!dir) return {};
    for (const name of [filename, sfn]) {
      if (!name) continue;
      const path = resolveInside(dir, name);
      if (!path) continue;
      const meta = await readGcodeMetadata(path).catch(() => null);
      if (meta) return meta;
    }
    return {};
  }

  private async send(command: string): Promise<boolean> {
    if (this.stopped || !this.link.isOpen) return false;
    return this.link.send(command).catch((err) => {
      this.logger.error("recorder.send_refused", { command, error: (err as Error).message });
      return false;
    });
  }

  private onOpen(): void {
    this.poll = newPollMemory();
    this.handshake = { attempts: 1, sentAt: this.now() };
    this.input({ type: "link_up" }, this.now());
    void this.send("M115");
  }

  /** Runs once a second: timeouts in the reducer, the handshake, the poll schedule, liveness. */
  tick(): void {
    const now = this.now();
    this.input({ type: "tick" }, now);
    if (!this.link.isOpen) return;
    if (!this.poll.handshakeDone) {
      if (now - this.handshake.sentAt >= this.opts.handshakeSeconds) {
        if (this.handshake.attempts >= 3) {
          this.logger.warn("printer.no_answer", { note: "no answer to M115; trying the next baud rate" });
          this.handshake = { attempts: 0, sentAt: now };
          this.link.nextBaud();
          return;
        }
        this.handshake.attempts += 1;
        this.handshake.sentAt = now;
        void this.send("M115");
      }
      return;
    }
    for (const cmd of dueCommands(this.state, this.poll, this.opts, now)) void this.send(cmd);
    if (this.link.busy && this.link.lastLineAt > 0 && now - this.link.lastLineAt > this.opts.silentSeconds) {
      this.logger.warn("printer.silent", { seconds: Math.round(now - this.link.lastLineAt), note: "reopening the port" });
      this.link.lastLineAt = now;
      this.link.reconnect("the printer stopped answering");
    }
  }

  start(): void {
    this.link.start();
    this.ticker = setInterval(() => this.tick(), 1000);
    this.ticker.unref();
  }

  /** Stops polling; an open job is left for the caller to finish (server_exit). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    await this.link.stop();
    await this.chain;
  }

  /** Waits until every queued store operation has been carried out. */
  settled(): Promise<void> {
    return this.chain;
  }

  /** Whether the printer's card holds a file of that name (from the last M20 listing). */
  onCard(filename: string): boolean {
    const f = filename.toLowerCase();
    return Object.values(this.state.files).some((e) => e.sfn.toLowerCase() === f || e.long?.toLowerCase() === f);
  }

  get currentJob(): string | null {
    return this.currentJobId;
  }
}
