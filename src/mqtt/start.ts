// Reads [mqtt] and the mqtt sensors before anything opens, then starts the MQTT bridge when there
// is an [mqtt] section, keeping the published-job mark in the data directory.

import { join } from "node:path";
import type { NotificationBus } from "../api/notifications.js";
import type { FileExistence } from "../api/history-methods.js";
import type { MethodTable } from "../api/methods.js";
import { PRINTLOG_VERSION } from "../api/server-methods.js";
import type { AuxService } from "../aux/service.js";
import { ConfigError, type Config } from "../config/config.js";
import type { HistoryStore } from "../history/store.js";
import type { Logger } from "../log.js";
import { MqttBridge } from "./bridge.js";
import { loadMqttConfig, type MqttConfig } from "./config.js";
import { loadMqttSensors, type MqttSensor } from "./sensor-config.js";

export interface MqttSetup {
  mqtt: MqttConfig | null;
  sensors: MqttSensor[];
  warnings: string[];
}

/** Reads and validates [mqtt] and the mqtt sensors; throws ConfigError before anything starts. */
export function loadMqttSetup(config: Config): MqttSetup {
  const { mqtt, warnings } = loadMqttConfig(config);
  const sensors = loadMqttSensors(config);
  if (!mqtt && sensors.length > 0) {
    throw new ConfigError("mqtt", `[sensor ${sensors[0]!.name}] has type: mqtt, which needs an [mqtt] section with the broker's address`);
  }
  return { mqtt, sensors, warnings };
}

export interface MqttWiring {
  dataDir: string;
  table: MethodTable;
  bus: NotificationBus;
  store: HistoryStore;
  exists: FileExistence;
  aux: AuxService;
  logger: Logger;
}

export async function startMqtt(setup: MqttSetup, w: MqttWiring): Promise<MqttBridge | null> {
  const logger = w.logger.child({ component: "mqtt" });
  for (const detail of setup.warnings) logger.warn("config.warning", { detail });
  if (!setup.mqtt) return null;
  return MqttBridge.start({
    config: setup.mqtt,
    sensors: setup.sensors,
    table: w.table,
    bus: w.bus,
    store: w.store,
    exists: w.exists,
    aux: w.aux,
    logger,
    markFile: join(w.dataDir, "mqtt_published.json"),
    version: PRINTLOG_VERSION,
  });
}
