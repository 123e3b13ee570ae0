// Starts the MQTT bridge when the configuration has an [mqtt] section: reads the section and the
// mqtt sensors, and keeps the published-job mark in the data directory.

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
import { loadMqttConfig } from "./config.js";
import { loadMqttSensors } from "./sensor-config.js";

export interface MqttWiring {
  config: Config;
  dataDir: string;
  table: MethodTable;
  bus: NotificationBus;
  store: HistoryStore;
  exists: FileExistence;
  aux: AuxService;
  logger: Logger;
}

export async function startMqtt(w: MqttWiring): Promise<MqttBridge | null> {
  const { mqtt, warnings } = loadMqttConfig(w.config);
  const sensors = loadMqttSensors(w.config);
  const logger = w.logger.child({ component: "mqtt" });
  for (const detail of warnings) logger.warn("config.warning", { detail });
  if (!mqtt) {
    if (sensors.length > 0) {
      throw new ConfigError("mqtt", `[sensor ${sensors[0]!.name}] has type: mqtt, which needs an [mqtt] section with the broker's address`);
    }
    return null;
  }
  return MqttBridge.start({
    config: mqtt,
    sensors,
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
