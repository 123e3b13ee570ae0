// JSON-RPC over MQTT on the one method table: requests from `{instance}/moonraker/api/request`,
// answered in order on `.../api/response`; broadcast notifications to `.../api/notification` with
// the WebSocket's payloads; notify_status_update coalesced per `status_interval` (Moonraker's).

import { dispatchJsonRpc } from "../api/jsonrpc.js";
import type { MethodTable } from "../api/methods.js";
import { MAX_WS_MESSAGE } from "../api/websocket.js";
import type { Logger } from "../log.js";

/** Requests waiting for their turn; beyond this a flood is dropped rather than queued. */
export const MAX_PENDING_REQUESTS = 100;
/** Moonraker's code for a request repeated with the same `mqtt_timestamp` (DUP_API_REQ_CODE). */
export const DUPLICATE_REQUEST_CODE = -10000;

export type Publish = (topic: string, payload: string, qos: 0 | 1 | 2) => void;

export class ApiTopics {
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  /** The last 20 `mqtt_timestamp`s, as Moonraker screens retried requests. */
  private readonly seenTimestamps: unknown[] = [];
  private statusCache: Record<string, Record<string, unknown>> | null = null;
  private statusTime = 0;
  private statusTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly table: MethodTable,
    private readonly topics: { response: string; notification: string },
    private readonly qos: 0 | 1 | 2,
    private readonly statusInterval: number,
    private readonly publish: Publish,
    private readonly logger: Logger,
  ) {
    if (statusInterval > 0) {
      this.statusTimer = setInterval(() => this.flushStatus(), statusInterval * 1000);
      this.statusTimer.unref();
    }
  }

  /** One request payload; answered after every earlier one. */
  request(payload: Buffer): void {
    if (this.pending >= MAX_PENDING_REQUESTS) {
      this.logger.warn("mqtt.request_dropped", { reason: `more than ${MAX_PENDING_REQUESTS} requests waiting` });
      return;
    }
    this.pending++;
    this.chain = this.chain
      .then(async () => {
        const text = payload.length > MAX_WS_MESSAGE ? "" : payload.toString("utf8");
        const reply =
          payload.length > MAX_WS_MESSAGE
            ? JSON.stringify({ jsonrpc: "2.0", error: { code: -32600, message: `Invalid Request: larger than ${MAX_WS_MESSAGE} bytes` }, id: null })
            : (this.duplicate(text) ?? (await dispatchJsonRpc(text, this.table, { transport: "mqtt", ip: "mqtt" })));
        if (reply !== null) this.publish(this.topics.response, reply, this.qos);
      })
      .catch((err) => this.logger.error("mqtt.dispatch_failed", { error: (err as Error).message }))
      .finally(() => this.pending--);
  }

  /** Moonraker drops a request whose params.mqtt_timestamp it has already seen (a broker retry). */
  private duplicate(text: string): string | null {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      return null; // dispatch answers the parse error
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return null;
    const o = obj as Record<string, unknown>;
    const params = o["params"];
    if (typeof params !== "object" || params === null || !("mqtt_timestamp" in params)) return null;
    const ts = (params as Record<string, unknown>)["mqtt_timestamp"];
    if (typeof ts !== "number" && typeof ts !== "string") return null;
    if (this.seenTimestamps.includes(ts)) {
      const id = typeof o["id"] === "string" || typeof o["id"] === "number" ? o["id"] : null;
      return JSON.stringify({ jsonrpc: "2.0", error: { code: DUPLICATE_REQUEST_CODE, message: "Duplicate MQTT Request" }, id });
    }
    this.seenTimestamps.push(ts);
    if (this.seenTimestamps.length > 20) this.seenTimestamps.shift();
    return null;
  }

  /** A broadcast notification from the bus. */
  notify(method: string, params: unknown[]): void {
    if (method === "notify_status_update" && this.statusInterval > 0) {
      const [status, eventtime] = params as [Record<string, Record<string, unknown>> | undefined, number | undefined];
      if (typeof status !== "object" || status === null) return;
      this.statusCache ??= {};
      for (const [obj, fields] of Object.entries(status)) this.statusCache[obj] = { ...(this.statusCache[obj] ?? {}), ...fields };
      this.statusTime = typeof eventtime === "number" ? eventtime : Date.now() / 1000;
      return;
    }
    this.publish(this.topics.notification, JSON.stringify({ jsonrpc: "2.0", method, params }), this.qos);
  }

  private flushStatus(): void {
    if (!this.statusCache) return;
    const status = this.statusCache;
    this.statusCache = null;
    this.publish(this.topics.notification, JSON.stringify({ jsonrpc: "2.0", method: "notify_status_update", params: [status, this.statusTime] }), this.qos);
  }

  close(): void {
    if (this.statusTimer) clearInterval(this.statusTimer);
  }
}
