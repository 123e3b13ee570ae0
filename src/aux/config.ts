// Sensor history fields and serial-line rules from the configuration, Moonraker-style:
//   [sensor hist_test]
//   history_field_power_consumption:
//     parameter=energy
//     strategy=delta
//     units=kWh
//   [serial_rule power]
//   sensor: hist_test
//   pattern: ^echo:Energy: (?<energy>[\d.]+)kWh$
// Errors name the key and the bad value; unknown options are warnings.

import { ConfigError, parseBoolValue, parseIntValue, type Config } from "../config/config.js";
import type { IniSection } from "../config/ini.js";
import { compileRule, type LineRule } from "./rules.js";

export type Strategy = "basic" | "delta" | "accumulate" | "average" | "maximum" | "minimum" | "collect";
export const STRATEGIES: readonly Strategy[] = ["basic", "delta", "accumulate", "average", "maximum", "minimum", "collect"];
export const NUMERIC_STRATEGIES: ReadonlySet<Strategy> = new Set(["delta", "accumulate", "average", "maximum", "minimum"]);

export interface HistoryField {
  provider: string;
  name: string;
  parameter: string;
  desc: string;
  strategy: Strategy;
  units: string | null;
  initTracker: boolean;
  excludePaused: boolean;
  reportTotal: boolean;
  reportMaximum: boolean;
  precision: number | null;
}

export interface SensorConfig {
  name: string;
  provider: string;
  friendlyName: string;
  fields: HistoryField[];
  /** Every parameter a field reads. */
  parameters: string[];
}

export interface SensorSetup {
  sensors: SensorConfig[];
  rules: LineRule[];
  warnings: string[];
}

const FIELD_KEYS = new Set(["parameter", "desc", "strategy", "units", "init_tracker", "exclude_paused", "report_total", "report_maximum", "precision"]);

export function parseHistoryField(provider: string, name: string, value: string, where: string, warnings: string[]): HistoryField {
  const opts = new Map<string, string>();
  for (const raw of value.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new ConfigError(where, `${where}: expected 'key=value' lines, got '${line}'`, line);
    const key = line.slice(0, eq).trim().toLowerCase();
    if (!FIELD_KEYS.has(key)) {
      warnings.push(`${where}: unknown option '${key}' ignored`);
      continue;
    }
    opts.set(key, line.slice(eq + 1).trim());
  }
  const key = (k: string) => `${where}.${k}`;
  const strategy = (opts.get("strategy") ?? "basic").toLowerCase();
  if (!(STRATEGIES as readonly string[]).includes(strategy)) {
    throw new ConfigError(key("strategy"), `${key("strategy")}: expected one of ${STRATEGIES.join(", ")}, got '${opts.get("strategy")}'`, opts.get("strategy"));
  }
  const bool = (k: string) => (opts.has(k) ? parseBoolValue(key(k), opts.get(k)!) : false);
  const field: HistoryField = {
    provider,
    name,
    parameter: opts.get("parameter") || name,
    desc: opts.get("desc") ?? name,
    strategy: strategy as Strategy,
    units: opts.get("units") || null,
    initTracker: bool("init_tracker"),
    excludePaused: bool("exclude_paused"),
    reportTotal: bool("report_total"),
    reportMaximum: bool("report_maximum"),
    precision: opts.has("precision") ? parseIntValue(key("precision"), opts.get("precision")!, 0, 12) : null,
  };
  if (field.strategy === "collect" && (field.reportTotal || field.reportMaximum)) {
    warnings.push(`${where}: the collect strategy keeps no totals; report_total/report_maximum ignored`);
    field.reportTotal = false;
    field.reportMaximum = false;
  }
  return field;
}

/** A field's options as Moonraker names them, shared by server.sensors.list and server.config. */
export function fieldOptions(f: HistoryField): Record<string, unknown> {
  return {
    strategy: f.strategy,
    units: f.units,
    init_tracker: f.initTracker,
    exclude_paused: f.excludePaused,
    report_total: f.reportTotal,
    report_maximum: f.reportMaximum,
    precision: f.precision,
  };
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function loadSensorConfig(config: Config): SensorSetup {
  const warnings: string[] = [];
  const sensors: SensorConfig[] = [];
  const seen = new Map<string, string>();
  const where = (s: IniSection) => `${config.source ?? "config"}:${s.line} [${s.name}]`;
  for (const section of config.sections) {
    const m = /^sensor (.+)$/.exec(section.name);
    if (!m) continue;
    const name = m[1]!;
    if (!NAME.test(name)) throw new ConfigError(section.name, `${where(section)}: sensor names use letters, digits, _ and - (got '${name}')`, name);
    const provider = `sensor ${name}`;
    const sensor: SensorConfig = { name, provider, friendlyName: name, fields: [], parameters: [] };
    for (const [opt, { value, line }] of section.options) {
      const at = `${config.source ?? "config"}:${line} [${section.name}] ${opt}`;
      if (opt === "friendly_name") {
        sensor.friendlyName = value;
      } else if (opt === "type" || opt === "state_topic" || opt === "qos" || opt === "state_response_template") {
        // Values arrive over HTTP, from serial-line rules or, for `type: mqtt`, from the state
        // topic that src/mqtt/sensor-config.ts reads these options for.
      } else if (opt.startsWith("history_field_")) {
        const fieldName = opt.slice("history_field_".length);
        if (!NAME.test(fieldName)) throw new ConfigError(at, `${at}: bad field name '${fieldName}'`, fieldName);
        const field = parseHistoryField(provider, fieldName, value, `[${section.name}] ${opt}`, warnings);
        const id = `${provider}/${fieldName}`;
        if (seen.has(id)) throw new ConfigError(at, `${at}: field ${fieldName} of provider '${provider}' is already defined at ${seen.get(id)}`, fieldName);
        seen.set(id, at);
        sensor.fields.push(field);
        if (!sensor.parameters.includes(field.parameter)) sensor.parameters.push(field.parameter);
      } else if (opt.startsWith("parameter_")) {
        const p = opt.slice("parameter_".length);
        if (!sensor.parameters.includes(p)) sensor.parameters.push(p);
      } else {
        warnings.push(`${at}: unknown option '${opt}' ignored`);
      }
    }
    sensors.push(sensor);
  }
  const rules: LineRule[] = [];
  for (const section of config.sections) {
    const m = /^serial_rule (.+)$/.exec(section.name);
    if (!m) continue;
    const at = where(section);
    const sensorName = section.options.get("sensor")?.value;
    const pattern = section.options.get("pattern")?.value;
    if (!sensorName) throw new ConfigError(`${section.name}.sensor`, `${at}: 'sensor' is required`);
    if (!pattern) throw new ConfigError(`${section.name}.pattern`, `${at}: 'pattern' is required`);
    for (const opt of section.options.keys()) if (opt !== "sensor" && opt !== "pattern") warnings.push(`${at}: unknown option '${opt}' ignored`);
    const sensor = sensors.find((s) => s.name === sensorName);
    if (!sensor) throw new ConfigError(`${section.name}.sensor`, `${at}: no [sensor ${sensorName}] is configured`, sensorName);
    let rule: LineRule;
    try {
      rule = compileRule(m[1]!, sensorName, pattern);
    } catch (e) {
      throw new ConfigError(`${section.name}.pattern`, `${at}: pattern: ${(e as Error).message}`, pattern);
    }
    for (const g of rule.groups) {
      if (!sensor.parameters.includes(g)) {
        throw new ConfigError(`${section.name}.pattern`, `${at}: group '${g}' is not a parameter of [sensor ${sensorName}] (it has ${sensor.parameters.join(", ") || "none"})`, g);
      }
    }
    rules.push(rule);
  }
  return { sensors, rules, warnings };
}
