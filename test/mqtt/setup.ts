// Shared by the MQTT tests: printlog in this process with an [mqtt] section for a test broker.

import { applyIni } from "../../src/config/config.js";
import { startInProcess } from "../helpers.js";
import { mqttSection, type Broker } from "../../scripts/mqtt-broker.js";

export const now = () => Date.now() / 1000;

/** printlog (no printer, temp data dir) joined to `broker` as `instance`; `more` adds INI text. */
export async function printlogOn(broker: Broker, instance: string, extra: string[] = [], more = "") {
  return startInProcess((c) => applyIni(c, mqttSection(broker.port, instance, extra) + more, "test.cfg"));
}
