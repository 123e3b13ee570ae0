// The recorder: feeds every line from the printer link through the parser and the job reducer,
// carries out the reducer's effects on the history store in order, and runs the poll schedule.
// It decides nothing itself; the rules live in reducer.ts. It holds a job's finish back a
// moment for the closing filament reading, so "finished" goes out once with the final values.

import type { HistoryStore } from "../history/store.js";
import type { JobRecord } from "../history/types.js";
import type { Logger } from "../log.js";
import { parseLine } from "../protocol/parse.js";
import type { PrinterEvent } from "../protocol/events.js";
import { dueCommands, newPollMemory, setupCommands, type PollMemory, type PollSettings } from "../serial/poll-plan.js";
import type { LineSource } from "../serial/link.js";
import { AwakeClock, SilenceWatch } from "../serial/awake-clock.js";
import { closedFromRecord } from "./adopt.js";
import { writeFileDate } from "./file-date-store.js";
import { localFileFor, type LocalFile } from "./local-name.js";
import { initialRecorderState, reduce, rememberClosedId } from "./reducer.js";
import type { Effect, RecorderInput, RecorderState, ReducerOptions } from "./types.js";

/** How long a finish waits for the closing filament reading before it goes out anyway. */
const CLOSING_HOLD_MS = 3000;
/** The most one tick (every second) counts towards the handshake's and the silence's timeouts. */
const MAX_TICK_STEP_S = 2;
/** A tick this late is logged: what explains a gap in a job's record. */
const STALL_LOG_S = 5;

type FinishEffect = Extract<Effect, { kind: "finish" }>;

export interface RecorderOptions extends ReducerOptions, PollSettings {
  gcodeDir: string | null;
  /** No line at all for this long (of printlog's running time) while a command waits: close and
   *  reopen the port. */
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
  /** The job that ended last (a date for its file may still come). */
  private endedJobId: string | null = null;
  /** `banner`: the printer printed its start banner at this baud, so no baud fallback.
   *  `sentAt` is on `clock`, like every timeout of the link's liveness. */
  private handshake = { attempts: 0, sentAt: 0, banner: false };
  private readonly clock = new AwakeClock(MAX_TICK_STEP_S);
  private readonly silence = new SilenceWatch();
  private held: { effect: FinishEffect; timer: NodeJS.Timeout; waiting: number } | null = null;
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
    if (last && ADOPTABLE.has(last.status)) this.state.lastClosed = closedFromRecord(last);
  }

  onLine(line: string, time: number): void {
    this.recent.push(line);
    if (this.recent.length > 8) this.recent.shift();
    for (const hook of this.lineHooks) hook(line, time);
    const ev = parseLine(line, { dialect: this.state.dialect, inFileList: this.state.inFileList, inJsonList: this.state.jsonListSince !== null });
    this.observe(ev);
    this.input(ev, time);
  }

  addLineHook(hook: LineHook): void {
    this.lineHooks.push(hook);
  }

  private observe(ev: PrinterEvent): void {
    if (ev.type === "firmware") {
      this.logger.info("printer.identified", { firmware: ev.name, dialect: ev.dialect, machine: ev.machine });
      this.handshake.attempts = 0;
      // Marlin and its Prusa forks send stray `ok`s (a screen start or abort) and answer an
      // unknown command with `Unknown command`: there an `ok` counts only after the answer.
      this.link.strictAnswers = ["marlin2", "marlin1", "prusa_mk3", "prusa_buddy"].includes(ev.dialect);
    }
    if (ev.type === "boot") {
      // The firmware restarted: nothing sent before will be answered, and it is at this baud
      // (it just printed its banner here), so identify it at once — no baud fallback.
      this.logger.warn("printer.reset", { note: "the printer printed its start banner" });
      this.poll = newPollMemory();
      this.link.abandonPending();
      this.handshake = { attempts: 1, sentAt: this.clock.now, banner: true };
      void this.send("M115");
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
    if (this.held) {
      if (effect.kind === "amend_filament" && effect.jobId === null) {
        // A closing reading: the finish goes out with the last one.
        this.held.effect.fields = { ...this.held.effect.fields, filament_used: effect.filament_used, filament_source: effect.source };
        if (--this.held.waiting <= 0) this.releaseHeld();
        return;
      }
      this.releaseHeld(); // keep the order of effects
    }
    if (effect.kind === "finish" && effect.closingReadings > 0 && this.link.isOpen && !this.stopped) {
      this.held = { effect, timer: setTimeout(() => this.releaseHeld(), CLOSING_HOLD_MS), waiting: effect.closingReadings };
      this.held.timer.unref();
      return;
    }
    this.chainEffect(effect);
  }

  private chainEffect(effect: Exclude<Effect, { kind: "query" }>): void {
    this.chain = this.chain.then(() => this.apply(effect)).catch((err) => {
      this.logger.error("recorder.store_failed", { effect: effect.kind, error: (err as Error).message });
    });
  }

  /** Lets a held finish go out (its closing reading came, or the wait is over). */
  private releaseHeld(): void {
    const held = this.held;
    if (!held) return;
    clearTimeout(held.timer);
    this.held = null;
    this.chainEffect(held.effect);
  }

  private logTransition(event: string, fields: Record<string, unknown>): void {
    this.logger.info(event, { ...fields, lines: this.recent.slice(-4) });
  }

  private async apply(e: Exclude<Effect, { kind: "query" }>): Promise<void> {
    const id = this.currentJobId;
    switch (e.kind) {
      case "start": {
        const local = await this.localFile(e.filename, e.sfn, typeof e.metadata["size"] === "number" ? (e.metadata["size"] as number) : null);
        const filename = local?.name ?? e.filename;
        const job = await this.store.startJob({
          filename,
          start_time: e.time,
          metadata: { ...e.metadata, ...local?.metadata },
          printer_file: e.sfn,
          cause: e.cause,
        });
        this.currentJobId = job.job_id;
        this.logTransition("job.started", { job_id: job.job_id, filename, cause: e.cause });
        return;
      }
      case "update":
        if (!id) return;
        if (e.fields.filename) {
          const job = this.store.getJob(id);
          const size = job && typeof job.metadata["size"] === "number" ? (job.metadata["size"] as number) : null;
          const local = await this.localFile(e.fields.filename, e.fields.printer_file ?? job?.printer_file ?? null, size);
          // The card's date for the file now named (e.fields.metadata); a local copy's wins.
          const metadata = job && (local || e.fields.metadata) ? { ...job.metadata, ...e.fields.metadata, ...local?.metadata } : undefined;
          const filename = local?.name ?? e.fields.filename;
          await this.store.updateJob(id, e.time, { ...e.fields, filename, ...(metadata ? { metadata } : {}) }, undefined, true);
          this.logger.info("job.renamed", { job_id: id, filename });
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
        this.endedJobId = id;
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
        const before = this.store.getJob(target);
        if (before && before.filament_used === e.filament_used && before.filament_source === e.source) return;
        await this.store.amendFilament(target, e.filament_used, e.source);
        this.logger.info("job.filament_amended", { job_id: target, filament_used: e.filament_used, source: e.source });
        // A value that changes after "finished" went out is notified again, so clients show it.
        const job = this.store.getJob(target);
        if (job && job.status !== "in_progress") this.store.emit("changed", { action: "finished", job });
        return;
      }
      case "file_date":
        return writeFileDate(this.store, this.logger, id ?? this.endedJobId, e.time, e.modified);
      case "drop": {
        if (!id) return;
        this.currentJobId = null;
        await this.store.deleteJob(id);
        this.logTransition("job.dropped", { job_id: id, cause: e.reason });
        return;
      }
      case "note":
        if (!id) return;
        await this.store.updateJob(id, e.time, {}, { time: e.time, event: e.event, detail: e.detail }, true);
        return;
    }
  }

  private lastFinishedId(): string | null {
    const jobs = this.store.jobs;
    return jobs.length > 0 ? jobs[jobs.length - 1]!.job_id : null;
  }

  private localFile(filename: string, sfn: string | null, size: number | null): Promise<LocalFile | null> {
    return this.opts.gcodeDir ? localFileFor(this.opts.gcodeDir, filename, sfn, size) : Promise.resolve(null);
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
    this.handshake = { attempts: 1, sentAt: this.clock.now, banner: false };
    this.silence.reset(this.clock.now);
    this.input({ type: "link_up" }, this.now());
    void this.send("M115");
  }

  /** Runs once a second: timeouts in the reducer, the handshake, the poll schedule, liveness.
   *  The link's liveness is timed on `clock`: a stall of printlog is not the printer's silence. */
  tick(): void {
    const now = this.now();
    const awake = this.clock.advance(now);
    if (this.clock.gap > STALL_LOG_S) this.logger.warn("printlog.stalled", { seconds: Math.round(this.clock.gap), note: "printlog itself did not run (slow storage, swapping, a suspended process); the printer's silence meanwhile is not counted" });
    this.input({ type: "tick" }, now);
    if (!this.link.isOpen) return;
    if (!this.poll.handshakeDone) {
      if (awake - this.handshake.sentAt >= this.opts.handshakeSeconds) {
        if (this.handshake.attempts >= 3 && !this.handshake.banner) {
          this.logger.warn("printer.no_answer", { note: "no answer to M115; trying the next baud rate" });
          this.handshake = { attempts: 0, sentAt: awake, banner: false };
          this.link.nextBaud();
          return;
        }
        this.handshake.attempts += 1;
        this.handshake.sentAt = awake;
        void this.send("M115");
      }
      return;
    }
    for (const cmd of dueCommands(this.state, this.poll, this.opts, now)) void this.send(cmd);
    const silent = this.silence.silentFor(this.link.lastLineAt, this.link.busy, awake);
    if (silent > this.opts.silentSeconds) {
      this.logger.warn("printer.silent", { seconds: Math.round(silent), note: "reopening the port" });
      this.silence.reset(awake);
      this.link.reconnect("the printer stopped answering");
    }
  }

  start(): void {
    this.link.start();
    this.clock.advance(this.now());
    this.ticker = setInterval(() => this.tick(), 1000);
    this.ticker.unref();
  }

  /** Stops polling; an open job is left for the caller to finish (server_exit). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.releaseHeld();
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
