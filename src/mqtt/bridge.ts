// The MQTT client (MQTT.js): Moonraker's status topic with a retained `offline` last will, the API
// topics, finished jobs retained on `{instance}/printlog/last_job`, the printer snapshot (and Home
// Assistant discovery), and [sensor] type: mqtt readings into the aux trackers.

// MQTT.js is loaded only when [mqtt] is configured (start): importing it costs ~0.3 s of start-up.
import type { MqttClient } from "mqtt";
import type { NotificationBus } from "../api/notifications.js";
import type { FileExistence } from "../api/history-methods.js";
import { presentJob } from "../api/history-methods.js";
import type { MethodTable } from "../api/methods.js";
import { AuxError, type AuxService } from "../aux/service.js";
import type { HistoryStore } from "../history/store.js";
import type { Logger } from "../log.js";
import { ApiTopics } from "./api-topics.js";
import type { MqttConfig } from "./config.js";
import { markOf, pendingJobs, readMark, writeMark, type PublishedMark } from "./finished-jobs.js";
import { discoveryMessages, snapshot } from "./home-assistant.js";
import { coerceValue, parsePayload, pick } from "./json-path.js";
import type { MqttSensor } from "./sensor-config.js";

export interface MqttBridgeOptions {
  config: MqttConfig;
  sensors: MqttSensor[];
  table: MethodTable;
  bus: NotificationBus;
  store: HistoryStore;
  exists: FileExistence;
  aux: AuxService;
  logger: Logger;
  /** Where the mark of the last published job is kept; null keeps it in memory only. */
  markFile: string | null;
  version: string;
}

export function mqttTopics(instance: string) {
  return {
    status: `${instance}/moonraker/status`,
    request: `${instance}/moonraker/api/request`,
    response: `${instance}/moonraker/api/response`,
    notification: `${instance}/moonraker/api/notification`,
    lastJob: `${instance}/printlog/last_job`,
    state: `${instance}/printlog/state`,
  };
}

/** How often the printer snapshot is compared with the last one published, when no interval is set. */
const SNAPSHOT_SECONDS = 5;

/** Whether the history holds a finished job, from the index alone (stops at the first). */
function hasFinishedJob(store: HistoryStore): boolean {
  for (const j of store.summaries()) if (j.status !== "in_progress") return true;
  return false;
}

export class MqttBridge {
  readonly topics: ReturnType<typeof mqttTopics>;
  private readonly client: MqttClient;
  private readonly api: ApiTopics | null;
  private mark: PublishedMark | null = null;
  private draining: Promise<void> | null = null;
  private drainAgain = false;
  private lastSnapshot = "";
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly unsubscribe: (() => void)[] = [];
  private readonly sensorComplaints = new Map<string, number>();
  private wasConnected = false;
  /** True once the broker has granted this connection's subscriptions (request topic, sensors). */
  subscribed = false;
  private closed = false;

  private constructor(private readonly o: MqttBridgeOptions, mark: PublishedMark | null, connect: typeof import("mqtt").connect) {
    const c = o.config;
    this.topics = mqttTopics(c.instanceName);
    this.mark = mark;
    if (mark === null && !hasFinishedJob(o.store)) this.mark = { job_id: "", time: 0 };
    this.client = connect({
      protocol: c.tls ? "mqtts" : "mqtt",
      host: c.address,
      port: c.port,
      clientId: c.clientId ?? `printlog-${c.instanceName}-${Math.random().toString(16).slice(2, 10)}`,
      ...(c.username !== null ? { username: c.username } : {}),
      ...(c.password !== null ? { password: c.password } : {}),
      protocolVersion: c.protocol,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      resubscribe: false,
      queueQoSZero: false,
      // Moonraker's last will: a retained offline status when printlog dies without saying so.
      will: { topic: this.topics.status, payload: Buffer.from(JSON.stringify({ server: "offline" })), qos: c.defaultQos, retain: true },
    });
    this.api = c.enableApi
      ? new ApiTopics(o.table, this.topics, c.apiQos, c.statusInterval, (t, p, q) => this.publishLive(t, p, q), o.logger)
      : null;
    this.client.on("connect", () => this.onConnect());
    this.client.on("message", (topic, payload) => this.onMessage(topic, payload));
    this.client.on("close", () => {
      if (this.wasConnected && !this.closed) o.logger.warn("mqtt.disconnected", { broker: `${c.address}:${c.port}`, note: "reconnecting; finished jobs are kept until published" });
      this.wasConnected = false;
      this.subscribed = false;
    });
    // An unreachable broker or refused login repeats at every reconnect: logged when it changes
    // and then once a minute, not every two seconds.
    let lastError = { text: "", at: 0 };
    this.client.on("error", (err) => {
      if (err.message === lastError.text && Date.now() - lastError.at < 60_000) return;
      lastError = { text: err.message, at: Date.now() };
      o.logger.warn("mqtt.error", { broker: `${c.address}:${c.port}`, error: err.message, note: "retrying every 2 s" });
    });
    if (this.api) {
      const api = this.api;
      this.unsubscribe.push(o.bus.subscribe((method, params) => api.notify(method, params)));
    }
    const onChange = ({ action }: { action: string }) => {
      if (action === "finished") this.drain();
      this.publishSnapshot();
    };
    o.store.on("changed", onChange);
    this.unsubscribe.push(() => o.store.off("changed", onChange));
    const every = c.statusInterval > 0 ? c.statusInterval : SNAPSHOT_SECONDS;
    const timer = setInterval(() => this.publishSnapshot(), every * 1000);
    timer.unref();
    this.timers.push(timer);
  }

  static async start(o: MqttBridgeOptions): Promise<MqttBridge> {
    const mark = o.markFile ? await readMark(o.markFile) : null;
    o.logger.info("mqtt.starting", { broker: `${o.config.address}:${o.config.port}`, instance_name: o.config.instanceName });
    const { connect } = await import("mqtt");
    return new MqttBridge(o, mark, connect);
  }

  get connected(): boolean {
    return this.client.connected;
  }

  private onConnect(): void {
    const c = this.o.config;
    this.wasConnected = true;
    this.o.logger.info("mqtt.connected", { broker: `${c.address}:${c.port}`, topics: `${c.instanceName}/moonraker/...` });
    this.client.publish(this.topics.status, JSON.stringify({ server: "online" }), { qos: c.defaultQos, retain: true });
    const subs: Record<string, { qos: 0 | 1 | 2 }> = {};
    if (this.api) subs[this.topics.request] = { qos: c.apiQos };
    for (const s of this.o.sensors) subs[s.topic] = { qos: Math.max(subs[s.topic]?.qos ?? 0, s.qos ?? c.defaultQos) as 0 | 1 | 2 };
    if (Object.keys(subs).length > 0) {
      this.client.subscribe(subs, (err) => {
        if (err) this.o.logger.error("mqtt.subscribe_failed", { error: err.message });
        else this.subscribed = true;
      });
    } else this.subscribed = true;
    if (c.discovery) {
      for (const m of discoveryMessages(c.discoveryPrefix, c.instanceName, this.topics, this.o.version)) {
        this.client.publish(m.topic, m.payload, { qos: c.defaultQos, retain: true });
      }
    }
    this.lastSnapshot = "";
    this.publishSnapshot();
    this.drain();
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === this.topics.request && this.api) this.api.request(payload);
    for (const s of this.o.sensors) if (s.topic === topic) this.onSensor(s, payload);
  }

  private onSensor(s: MqttSensor, payload: Buffer): void {
    const complain = (why: string) => {
      // Hostile or broken publishers get one log line a minute, not one per message.
      const last = this.sensorComplaints.get(s.name) ?? 0;
      if (Date.now() - last < 60_000) return;
      this.sensorComplaints.set(s.name, Date.now());
      this.o.logger.warn("mqtt.sensor_value_refused", { sensor: s.name, topic: s.topic, reason: why });
    };
    if (payload.length > 64 * 1024) return complain(`payload larger than 64 KiB (${payload.length} bytes)`);
    const data = parsePayload(payload.toString("utf8"));
    const values: Record<string, unknown> = {};
    for (const v of s.values) {
      const got = pick(data, v.path);
      if (got !== undefined) values[v.parameter] = coerceValue(got);
    }
    if (Object.keys(values).length === 0) return complain(`no parameter found in payload (${s.values.map((v) => v.parameter).join(", ")})`);
    try {
      this.o.aux.update(s.name, values, Date.now() / 1000);
    } catch (e) {
      if (e instanceof AuxError) return complain(e.message);
      throw e;
    }
  }

  /** Live traffic (answers, notifications): sent only while connected, never queued. */
  private publishLive(topic: string, payload: string, qos: 0 | 1 | 2): void {
    if (this.client.connected) this.client.publish(topic, payload, { qos });
  }

  private publishSnapshot(): void {
    if (!this.client.connected) return;
    const text = JSON.stringify(snapshot(this.o.store));
    if (text === this.lastSnapshot) return;
    this.lastSnapshot = text;
    this.client.publish(this.topics.state, text, { qos: this.o.config.defaultQos, retain: true });
  }

  /** Publishes every finished job not yet acknowledged, one at a time, in order. */
  private drain(): void {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = (async () => {
      do {
        this.drainAgain = false;
        await this.drainOnce();
      } while (this.drainAgain && this.client.connected && !this.closed);
    })().finally(() => (this.draining = null));
  }

  private async drainOnce(): Promise<void> {
    // Decided from the index alone; only the bodies to publish are read.
    const { jobs: pending, dropped } = pendingJobs(this.o.store.summaries(), this.mark, this.o.config.backlog);
    const jobs = pending.map((s) => this.o.store.getJob(s.job_id)).filter((j): j is NonNullable<typeof j> => j !== undefined);
    if (dropped > 0) this.o.logger.warn("mqtt.backlog_dropped", { jobs: dropped, note: `only the last ${this.o.config.backlog} finished jobs are kept for publishing (publish_backlog)` });
    // At least QoS 1: the broker's acknowledgement is what moves the mark, so nothing is lost.
    const qos = Math.max(1, this.o.config.defaultQos) as 1 | 2;
    for (const job of jobs) {
      if (!this.client.connected) return;
      const payload = JSON.stringify({ instance_name: this.o.config.instanceName, job: presentJob(job, this.o.exists) });
      try {
        await this.client.publishAsync(this.topics.lastJob, payload, { qos, retain: true });
      } catch (e) {
        this.o.logger.warn("mqtt.publish_failed", { job_id: job.job_id, error: (e as Error).message });
        return;
      }
      this.mark = markOf(job);
      this.o.logger.info("mqtt.job_published", { job_id: job.job_id, status: job.status });
      if (this.o.markFile) {
        await writeMark(this.o.markFile, this.mark).catch((e) =>
          this.o.logger.warn("mqtt.mark_not_saved", { error: (e as Error).message, note: "after a restart this job may be published again" }),
        );
      }
    }
  }

  /** Publishes what is pending (up to `waitMs`), the retained `offline` status, and disconnects. */
  async stop(waitMs = 2000): Promise<void> {
    if (this.closed) return;
    for (const u of this.unsubscribe) u();
    for (const t of this.timers) clearInterval(t);
    this.api?.close();
    const timeout = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
    if (this.client.connected) {
      this.drain();
      await Promise.race([this.draining ?? Promise.resolve(), timeout(waitMs)]);
      this.closed = true;
      await Promise.race([
        this.client.publishAsync(this.topics.status, JSON.stringify({ server: "offline" }), { qos: this.o.config.defaultQos, retain: true }).catch(() => undefined),
        timeout(waitMs),
      ]);
    }
    this.closed = true;
    await Promise.race([this.client.endAsync(!this.client.connected), timeout(waitMs)]);
  }
}
