// Wires the real implementations together: config -> store -> API -> (recorder). The only place
// that chooses implementations; everything else receives what it needs.

import { resolve } from "node:path";
import { AccessPolicy } from "./api/access.js";
import { loadApiKey } from "./api/api-key.js";
import { HostCheck } from "./api/host-check.js";
import { createApp } from "./api/http.js";
import { historyMethods, presentJob } from "./api/history-methods.js";
import { MethodTable } from "./api/methods.js";
import { listen, type RunningServer } from "./api/server.js";
import { WebSocketHub } from "./api/websocket.js";
import type { Config } from "./config/config.js";
import { makeExistence } from "./files/gcode-dir.js";
import { LogRing, teeLogger } from "./files/log-ring.js";
import { createWebSurface } from "./api/web-surface.js";
import { HistoryStore } from "./history/store.js";
import { stackOf, type Logger } from "./log.js";
import { Recorder } from "./job/recorder.js";
import { loadSensorConfig } from "./aux/config.js";
import { AuxService, auxTotalSpecs } from "./aux/service.js";
import { auxMethods } from "./api/aux-methods.js";
import { PRINTLOG_VERSION, serverMethods, type ServerContext } from "./api/server-methods.js";
import { Database } from "./database/store.js";
import { ProcStats } from "./system/proc-stats.js";
import { PrinterLink } from "./serial/link.js";
import { AUTO_PLACES } from "./serial/device.js";
import { PrinterService } from "./printer/service.js";
import { printerMethods } from "./api/printer-methods.js";
import { hostStats } from "./printer/host-stats.js";
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
  printer: PrinterService;
  aux: AuxService;
  apiKey: string;
  /** Finishes an open job as server_exit, flushes and closes everything. */
  stop(reason: string): Promise<void>;
}

export { loadApiKey } from "./api/api-key.js";

export async function startPrintlog(config: Config, logger: Logger): Promise<Printlog> {
  // The recent log, also served as the `logs` root's file for the clients' log buttons.
  const logRing = new LogRing();
  logger = teeLogger(logger, logRing);
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
  const apiKey = await loadApiKey(dataDir, config.auth.apiKey, logger.child({ component: "api" }));
  const access = new AccessPolicy(config.auth.trustedClients, apiKey, config.auth.corsDomains);
  let recorder: Recorder | null = null;
  const exists = makeExistence(config.printer.gcodeDir, (name) => recorder?.onCard(name) ?? false);
  const database = await Database.open(dataDir, { logger: logger.child({ component: "database" }) });
  let hub: WebSocketHub | null = null;
  // Broadcasts go through one bus: the WebSocket clients and MQTT get the same payloads.
  const bus = new NotificationBus();
  bus.subscribe((method, params) => hub?.notify(method, params));
  const web = createWebSurface({ config, dataDir, store, aux, access, apiKey, log: logRing, logger, warnings: sensorSetup.warnings, notify: (m, p) => bus.notify(m, p) });
  const procStats = new ProcStats();
  const apiLogger = logger.child({ component: "api" });
  let link: PrinterLink | null = null;
  const printer = new PrinterService({
    device: config.printer.device,
    store,
    notify: (method, params) => bus.notify(method, params),
    sendTo: (id, method, params) => hub?.notifyClient(id, method, params) ?? false,
    connected: (id) => hub?.clients.has(id) ?? false,
    send: config.printer.device === "none" ? null : (command) => link?.send(command) ?? Promise.resolve(false),
    host: hostStats,
    softwareVersion: PRINTLOG_VERSION,
  });
  const serverCtx: ServerContext = {
    config,
    extraComponents: web.extraComponents,
    extraMethods: web.methods,
    sensors: sensorSetup,
    database,
    procStats,
    websocketCount: () => hub?.count ?? 0,
    // Journal gaps and rotten records found at start-up: Mainsail and Fluidd show these.
    warnings: [...config.warnings, ...sensorSetup.warnings, ...store.warnings, ...database.durable.warnings],
    klippy: () => printer.connection(),
  };
  const table = new MethodTable().add(...historyMethods(store, exists), ...auxMethods(aux), ...serverMethods(serverCtx), ...printerMethods(printer));
  table.onInternalError = (method, err) => apiLogger.error("rpc.error", { method, error: (err as Error)?.message ?? String(err), stack: stackOf(err) });
  const hosts = new HostCheck(config.auth.allowedHosts);
  hub = new WebSocketHub(table, access, hosts, apiLogger, { maxConnections: config.server.maxWebsocketConnections, oneshot: web.oneshot });
  const mqtt = await startMqtt(mqttSetup, { dataDir, table, bus, store, exists, aux, logger });
  const app = createApp({
    table,
    access,
    hosts,
    logger: apiLogger,
    oneshot: web.oneshot,
    // Files by path; the table's own /server/files/<name> endpoints take precedence.
    mount: (a) => web.mount(a, table),
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
    link = new PrinterLink({
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
    recorder.addLineHook((line) => printer.line(line));
    link.on("open", (path, baud) => printer.linkOpened(path, baud));
    link.on("close", (reason) => printer.linkClosed(reason));
    link.on("write", (command) => printer.commandWritten(command));
    recorder.start();
    logger.info("printer.looking", { device: p.device, looked_in: p.device === "auto" ? AUTO_PLACES : [p.device], baud: p.baud });
  } else {
    logger.info("printer.none", { note: "device is 'none': serving history without a printer" });
  }

  printer.start();

  let stopping: Promise<void> | null = null;
  const stop = (reason: string): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(statsTimer);
      printer.stop();
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
      web.close();
      await store.close();
      await database.close();
    })());

  return { store, server, hub, bus, mqtt, table, recorder, printer, aux, database, apiKey, stop };
}
