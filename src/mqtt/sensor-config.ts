// [sensor NAME] sections with `type: mqtt`: the state topic to subscribe to and, per parameter,
// the JSON path of its value (`parameter_energy: path=ENERGY.Total`). The history fields of those
// sensors are loaded by src/aux/config.ts like any other sensor's.

import { ConfigError, parseIntValue, type Config } from "../config/config.js";
import { parsePath, type PathSegment } from "./json-path.js";

export interface MqttSensor {
  name: string;
  topic: string;
  qos: 0 | 1 | 2 | null;
  /** Each parameter and where its value is in the payload. */
  values: { parameter: string; path: PathSegment[] }[];
}

/** A topic to subscribe to: no wildcards (as Moonraker), no NUL, at most 256 characters. */
const TOPIC = /^[^+#\u0000]{1,256}$/;

export function loadMqttSensors(config: Config): MqttSensor[] {
  const sensors: MqttSensor[] = [];
  for (const section of config.sections) {
    const m = /^sensor (.+)$/.exec(section.name);
    if (!m || section.options.get("type")?.value.trim().toLowerCase() !== "mqtt") continue;
    const where = `${config.source ?? "config"}:${section.line} [${section.name}]`;
    if (section.options.has("state_response_template")) {
      throw new ConfigError(`${section.name}.state_response_template`,
        `${where}: state_response_template (a Jinja2 template) is not supported; give each parameter a JSON path instead, e.g. 'parameter_energy: path=ENERGY.Total'`);
    }
    const topic = section.options.get("state_topic")?.value.trim() ?? "";
    if (!TOPIC.test(topic)) throw new ConfigError(`${section.name}.state_topic`, `${where}: state_topic is required: one MQTT topic without '+' or '#', got '${topic}'`, topic);
    const q = section.options.get("qos")?.value;
    const values: MqttSensor["values"] = [];
    const params = new Set<string>();
    for (const [opt, { value }] of section.options) {
      if (opt.startsWith("parameter_")) {
        const parameter = opt.slice("parameter_".length);
        const path = /(?:^|\n)\s*path\s*=\s*(.*)/.exec(value)?.[1]?.trim() ?? parameter;
        try {
          values.push({ parameter, path: parsePath(path) });
        } catch (e) {
          throw new ConfigError(`${section.name}.${opt}`, `${where}: ${opt}: ${(e as Error).message}`, path);
        }
        params.add(parameter);
      }
      if (opt.startsWith("history_field_")) {
        const parameter = /(?:^|\n)\s*parameter\s*=\s*(.*)/.exec(value)?.[1]?.trim() || opt.slice("history_field_".length);
        if (!params.has(parameter)) params.add(parameter);
      }
    }
    // A parameter named only by a history field is read from the payload's key of that name.
    for (const p of params) if (!values.some((v) => v.parameter === p)) values.push({ parameter: p, path: [p] });
    if (values.length === 0) throw new ConfigError(`${section.name}.parameter_`, `${where}: an mqtt sensor needs at least one parameter_NAME or history_field_NAME`);
    sensors.push({ name: m[1]!, topic, qos: q !== undefined ? (parseIntValue(`${section.name}.qos`, q, 0, 2) as 0 | 1 | 2) : null, values });
  }
  return sensors;
}
