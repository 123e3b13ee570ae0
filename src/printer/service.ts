// Runs the live printer state: feeds link events and printer lines into the model, samples the
// temperature store, pushes notify_status_update / notify_klippy_* / notify_gcode_response, and
// forwards read-only console queries. Time and transports come in through PrinterServiceDeps.

import type { HistoryStore } from "../history/store.js";
import type { JobRecord } from "../history/types.js";
import { planScript, consoleLine, readOnlyMessage } from "./console.js";
import { parseHalt } from "./line-parsers.js";
import { cleanLine } from "../protocol/events.js";
import { klippyConnection, linkClosed, linkOpened, newPrinterModel, observeLine, tickModel, type KlippyNotice, type PrinterModel } from "./model.js";
import { buildObject, objectNames, queryObjects, type HostStats, type JobView, type StatusInputs, type StatusObjects } from "./objects.js";
import { GcodeStore, TemperatureStore } from "./stores.js";
import { Subscriptions, type ObjectRequest } from "./subscriptions.js";

/** Poll M105 when no temperature report arrived for this long (printers without M155 autoreport). */
export const TEMPERATURE_POLL_SECONDS = 2;

export class PrinterRequestError extends Error {
  constructor(
    readonly status: 400 | 503,
    message: string,
  ) {
    super(message);
  }
}

export interface PrinterServiceDeps {
  device: string;
  store: HistoryStore;
  /** To every WebSocket client. */
  notify(method: string, params: unknown[]): void;
  /** To one WebSocket connection; false when it is gone. */
  sendTo(connection: number, method: string, params: unknown[]): boolean;
  /** Whether a WebSocket connection is still open (subscriptions of closed ones are dropped). */
  connected(connection: number): boolean;
  /** printlog's command queue (M-codes only); null without a printer. */
  send: ((command: string) => Promise<boolean>) | null;
  host(): HostStats;
  softwareVersion: string;
  /** Unix seconds and monotonic seconds. */
  now?: () => number;
  mono?: () => number;
}

function layerHeights(meta: Record<string, unknown>): JobView["layers"] {
  const num = (k: string) => (typeof meta[k] === "number" && Number.isFinite(meta[k]) ? (meta[k] as number) : null);
  const objectHeight = num("object_height");
  const layerHeight = num("layer_height");
  if (objectHeight === null || layerHeight === null || layerHeight <= 0 || objectHeight <= 0) return null;
  return { objectHeight, layerHeight, firstLayerHeight: num("first_layer_height") ?? layerHeight };
}

export class PrinterService {
  readonly model: PrinterModel;
  readonly temperatures = new TemperatureStore();
  readonly gcodes = new GcodeStore();
  readonly subscriptions = new Subscriptions();
  private lastFinished: { jobId: string; boots: number } | null = null;
  private lastEventtime = 0;
  private timer: NodeJS.Timeout | null = null;
  private tempPollInFlight = false;
  private consoleWaiting = new Map<string, number>();
  private capturing: string | null = null;
  private readonly now: () => number;
  private readonly mono: () => number;

  constructor(private readonly deps: PrinterServiceDeps) {
    this.now = deps.now ?? (() => Date.now() / 1000);
    this.mono = deps.mono ?? (() => performance.now() / 1000);
    this.model = newPrinterModel(deps.device, this.now());
    deps.store.on("changed", ({ action, job }) => {
      if (action === "finished") this.lastFinished = { jobId: job.job_id, boots: this.model.boots };
      else if (action === "added") this.lastFinished = null;
    });
  }

  // ---- inputs ----

  linkOpened(port: string, baud: number): void {
    this.announce(linkOpened(this.model, port, baud, this.now()));
  }

  linkClosed(reason: string): void {
    this.capturing = null;
    this.consoleWaiting.clear();
    this.announce(linkClosed(this.model, reason, this.now()));
  }

  /** printlog wrote a command to the printer: the lines up to its `ok` answer a console query. */
  commandWritten(command: string): void {
    const waiting = this.consoleWaiting.get(command) ?? 0;
    if (waiting === 0) return;
    if (waiting === 1) this.consoleWaiting.delete(command);
    else this.consoleWaiting.set(command, waiting - 1);
    // The previous command's `ok` is still being dispatched when the next one is written.
    queueMicrotask(() => (this.capturing = command));
  }

  line(raw: string): void {
    // Control characters and NULs from line noise never reach a client's console.
    const line = cleanLine(raw);
    if (line === "") return;
    const now = this.now();
    const fatal = parseHalt(line) !== null;
    const notice = observeLine(this.model, line, now);
    const trimmed = line.trim();
    if (this.capturing !== null && !fatal) {
      if (trimmed !== "ok") this.response(trimmed.startsWith("//") || trimmed.startsWith("!!") ? trimmed : trimmed.replace(/^echo:\s*/, "// "));
      if (/^ok\b/.test(trimmed)) this.capturing = null;
    } else {
      const text = consoleLine(line, fatal);
      if (text !== null) this.response(text);
    }
    this.announce(notice);
  }

  private response(text: string): void {
    this.gcodes.add(text, "response", this.now());
    this.deps.notify("notify_gcode_response", [text]);
  }

  private announce(notice: KlippyNotice | null): void {
    if (!notice) return;
    this.deps.notify(notice, []);
    // Subscribers see the new webhooks state at once, not at the next tick.
    this.pushStatus();
  }

  // ---- time ----

  start(): void {
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Once a second: timeouts, the temperature store, subscriber updates, the M105 poll. */
  tick(): void {
    const now = this.now();
    this.announce(tickModel(this.model, now));
    for (const id of this.subscriptions.connections()) if (!this.deps.connected(id)) this.subscriptions.drop(id);
    if (this.model.state !== "disconnected") this.temperatures.sample(this.model.heaters);
    this.pushStatus();
    if (this.model.state === "ready" && this.deps.send && !this.tempPollInFlight && now - this.model.lastTemperatureAt >= TEMPERATURE_POLL_SECONDS) {
      this.tempPollInFlight = true;
      void this.deps
        .send("M105")
        .catch(() => false)
        .finally(() => (this.tempPollInFlight = false));
    }
  }

  eventtime(): number {
    this.lastEventtime = Math.max(this.lastEventtime + 0.001, this.mono());
    return this.lastEventtime;
  }

  // ---- state for the API ----

  private job(): JobView | null {
    const store = this.deps.store;
    let record: JobRecord | undefined = store.currentJob();
    if (!record && this.lastFinished && this.lastFinished.boots === this.model.boots) record = store.getJob(this.lastFinished.jobId);
    if (!record) return null;
    const size = record.metadata["size"];
    const pause = [...record.timeline].reverse().find((e) => e.event === "paused");
    return {
      filename: record.filename,
      status: record.status,
      print_duration: record.print_duration,
      total_duration: record.total_duration,
      filament_used: record.filament_used,
      progress: record.progress,
      paused: record.paused,
      size: typeof size === "number" ? size : null,
      error_message: record.error_message,
      end_time: record.end_time,
      pausedAt: pause?.time ?? null,
      layers: layerHeights(record.metadata),
    };
  }

  inputs(eventtime = this.eventtime()): StatusInputs {
    return { model: this.model, job: this.job(), now: this.now(), eventtime, host: this.deps.host(), softwareVersion: this.deps.softwareVersion };
  }

  /** printer.* methods exist only while the printer's state is known (not while disconnected). */
  requireConnected(): void {
    if (!klippyConnection(this.model).klippy_connected) throw new PrinterRequestError(503, "Klippy Host not connected");
  }

  /** Whether a WebSocket connection exists (an HTTP subscribe names one by connection_id). */
  connected(id: number): boolean {
    return this.deps.connected(id);
  }

  connection(): { klippy_connected: boolean; klippy_state: string } {
    return klippyConnection(this.model);
  }

  objectsList(): string[] {
    return objectNames(this.model);
  }

  query(request: ObjectRequest): { eventtime: number; status: StatusObjects } {
    const inputs = this.inputs();
    return { eventtime: inputs.eventtime, status: queryObjects(request, inputs) };
  }

  subscribe(connection: number, request: ObjectRequest): { eventtime: number; status: StatusObjects } {
    const answer = this.query(request);
    this.subscriptions.set(connection, request, answer.status);
    return answer;
  }

  /** Sends each subscriber its changed fields. */
  pushStatus(): void {
    if (this.subscriptions.size === 0 || this.model.state === "disconnected") return;
    const inputs = this.inputs();
    const status: StatusObjects = {};
    for (const name of this.subscriptions.objectNames()) {
      const obj = buildObject(name, inputs);
      if (obj) status[name] = obj;
    }
    for (const [id, diff] of this.subscriptions.changes(status)) {
      if (!this.deps.sendTo(id, "notify_status_update", [diff, inputs.eventtime])) this.subscriptions.drop(id);
    }
  }

  softwareVersion(): string {
    const fw = this.model.firmware;
    // Not a semver below 0.11.0 before its first "-", or Mainsail and Fluidd ask to update Klipper.
    return fw ? `printlog ${this.deps.softwareVersion} / ${[fw.name, fw.version].filter(Boolean).join(" ")}` : `printlog ${this.deps.softwareVersion}`;
  }

  // ---- the console ----

  /** Records a refused request in the console and returns the error to answer it with. */
  refuse(what: string, command?: string): PrinterRequestError {
    const message = readOnlyMessage(what);
    if (command) this.gcodes.add(command, "command", this.now());
    this.response(`!! ${message}`);
    return new PrinterRequestError(400, message);
  }

  /** printer.gcode.script: bare read-only queries go to the printer; anything else is refused. */
  async runScript(script: string): Promise<string> {
    const plan = planScript(script);
    if (!plan.ok) throw this.refuse(plan.refused, plan.lines.join("\n"));
    if (plan.commands.length === 0) return "ok";
    for (const c of plan.commands) this.gcodes.add(c, "command", this.now());
    if (this.model.state !== "ready" || !this.deps.send) {
      this.response(`!! ${this.model.message}`);
      throw new PrinterRequestError(400, this.model.message);
    }
    for (const c of plan.commands) {
      this.consoleWaiting.set(c, (this.consoleWaiting.get(c) ?? 0) + 1);
      const ok = await this.deps.send(c).catch(() => false);
      if (!ok) {
        // Never written, or never answered: stop waiting for its answer.
        const waiting = this.consoleWaiting.get(c) ?? 0;
        if (waiting > 1) this.consoleWaiting.set(c, waiting - 1);
        else this.consoleWaiting.delete(c);
        if (this.capturing === c) this.capturing = null;
        const message = `The printer did not answer ${c}`;
        this.response(`!! ${message}`);
        throw new PrinterRequestError(400, message);
      }
    }
    return "ok";
  }
}
