// Wires the real implementations together: config -> store -> API -> (recorder). The only place
// that chooses implementations; everything else receives what it needs.

import { randomBytes } from "node:crypto";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { AccessPolicy } from "./api/access.js";
import { createApp } from "./api/http.js";
import { historyMethods, presentJob } from "./api/history-methods.js";
import { MethodTable } from "./api/methods.js";
import { listen, type RunningServer } from "./api/server.js";
import { WebSocketHub } from "./api/websocket.js";
import type { Config } from "./config/config.js";
import { makeExistence } from "./files/gcode-dir.js";
import { HistoryStore } from "./history/store.js";
import type { Logger } from "./log.js";
import { Recorder } from "./job/recorder.js";
import { loadSensorConfig } from "./aux/config.js";
import { AuxService, auxTotalSpecs } from "./aux/service.js";
import { auxMethods } from "./api/aux-methods.js";
import { fileResponse, serverMethods, type ServerContext } from "./api/server-methods.js";
import { Database } from "./database/store.js";
import { ProcStats } from "./system/proc-stats.js";
import { PrinterLink } from "./serial/link.js";
import { AUTO_PLACES } from "./serial/device.js";
import { NotificationBus } from "./api/notifications.js";
import { loadMqttSetup, startMqtt } from "./mqtt/start.js";
import type { MqttBridge } from "./mqtt/bridge.js";

export interface Printlog {
  store: HistoryStore;
  server: RunningServer;
  hub: WebSocketHub;
  /** Broadcast notifications: every transport (WebSocket, MQTT) listens here. */
  bus: NotificationBus;
  mqtt: MqttBridge | null;
  database: Database;
  table: MethodTable;
  recorder: Recorder | null;
  aux: AuxService;
  apiKey: string;
  /** Finishes an open job as server_exit, flushes and closes everything. */
  stop(reason: string): Promise<void>;
}

/** The API key: configured, or generated once and kept in the data directory (mode 600). */
export async function loadApiKey(dataDir: string, configured: string | null): Promise<string> {
  if (configured) return configured;
  const path = join(dataDir, "api_key");
  try {
    const key = (await readFile(path, "utf8")).trim();
    if (key.length >= 16) return key;
  } catch {
    // created below
  }
  const key = randomBytes(16).toString("hex");
  try {
    await mkdir(dataDir, { recursive: true });
    await writeFile(path, key + "\n", { mode: 0o600 });
  } catch {
    // A read-only data directory: this key lasts until printlog restarts (trusted clients
    // need none); the store reports the directory's state itself.
  }
  return key;
}

export async function startPrintlog(config: Config, logger: Logger): Promise<Printlog> {
  const dataDir = resolve(config.server.dataDir);
  for (const w of config.warnings) logger.warn("config.warning", { detail: w });
  const sensorSetup = loadSensorConfig(config);
  for (const w of sensorSetup.warnings) logger.warn("config.warning", { detail: w });
  const mqttSetup = loadMqttSetup(config);
  const store = await HistoryStore.open(dataDir, {
    logger: logger.child({ component: "history" }),
    checkpointInterval: config.history.checkpointInterval,
    auxTotalSpecs: auxTotalSpecs(sensorSetup),
  });
  const aux = new AuxService(sensorSetup, store, logger.child({ component: "aux" }));
  const apiKey = await loadApiKey(dataDir, config.auth.apiKey);
  const access = new AccessPolicy(config.auth.trustedClients, apiKey, config.auth.corsDomains);
  let recorder: Recorder | null = null;
  const exists = makeExistence(config.printer.gcodeDir, (name) => recorder?.onCard(name) ?? false);
  const database = await Database.open(dataDir, { logger: logger.child({ component: "database" }) });
  const procStats = new ProcStats();
  const apiLogger = logger.child({ component: "api" });
  let hub: WebSocketHub | null = null;
  const serverCtx: ServerContext = {
    config,
    sensors: sensorSetup,
    database,
    procStats,
    websocketCount: () => hub?.count ?? 0,
    warnings: [...config.warnings, ...sensorSetup.warnings],
  };
  const table = new MethodTable().add(...historyMethods(store, exists), ...auxMethods(aux), ...serverMethods(serverCtx));
  hub = new WebSocketHub(table, access, apiLogger);
  const bus = new NotificationBus();
  bus.subscribe((method, params) => hub?.notify(method, params));
  const mqtt = await startMqtt(mqttSetup, { dataDir, table, bus, store, exists, aux, logger });
  const app = createApp({
    table,
    access,
    logger: apiLogger,
    // Files by path; the table's own /server/files/<name> endpoints take precedence.
    mount: (a) =>
      a.get("/server/files/:root/*", async (c, next) => {
        if (table.path(c.req.path)) return next();
        return fileResponse(serverCtx, c.req.path.slice("/server/files/".length));
      }),
  });
  const server = await listen(app, hub, config.server.host, config.server.port);
  // Moonraker pushes process stats every second; clients drop a socket silent for 10 s.
  const statsTimer = setInterval(() => {
    if (hub && hub.count > 0) hub.notify("notify_proc_stat_update", [procStats.update(hub.count)]);
    else procStats.sample();
  }, 1000);
  statsTimer.unref();

  store.on("changed", ({ action, job }) => {
    bus.notify("notify_history_changed", [{ action, job: presentJob(job, exists) }]);
  });

  if (config.printer.device !== "none") {
    const p = config.printer;
    const serialLogger = logger.child({ component: "serial" });
    const link = new PrinterLink({
      device: p.device,
      bauds: [p.baud, ...p.fallbackBauds.filter((b) => b !== p.baud)],
      logger: serialLogger,
      commandTimeoutMs: p.commandTimeoutSeconds * 1000,
    });
    recorder = new Recorder(link, store, logger.child({ component: "recorder" }), {
      cancelCount: p.cancelCount,
      cancelSeconds: p.cancelSeconds,
      idleSeconds: p.pollIdleSeconds,
      printingSeconds: p.pollPrintingSeconds,
      positionSeconds: Math.max(2, p.pollPrintingSeconds * 2),
      statsSeconds: 30,
      gcodeDir: p.gcodeDir,
      silentSeconds: Math.max(10, p.commandTimeoutSeconds * 3),
      handshakeSeconds: 5,
    });
    recorder.addLineHook((line, time) => aux.onLine(line, time));
    recorder.start();
    logger.info("printer.looking", { device: p.device, looked_in: p.device === "auto" ? AUTO_PLACES : [p.device], baud: p.baud });
  } else {
    logger.info("printer.none", { note: "device is 'none': serving history without a printer" });
  }

  let stopping: Promise<void> | null = null;
  const stop = (reason: string): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(statsTimer);
      await recorder?.stop();
      const open = store.currentJob();
      if (open) {
        await store.finishJob(open.job_id, "server_exit", Date.now() / 1000, {}, reason).catch((err) => {
          logger.error("job.finish_failed", { job_id: open.job_id, error: (err as Error).message });
        });
        logger.info("job.finished", { job_id: open.job_id, status: "server_exit", cause: reason });
      }
      await mqtt?.stop();
      await server.close();
      await store.close();
      await database.close();
    })());

  return { store, server, hub, bus, mqtt, table, recorder, aux, database, apiKey, stop };
}
