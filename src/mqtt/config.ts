// The [mqtt] section, with Moonraker's option names where they apply (components/mqtt.py and
// docs/configuration.md "[mqtt]"), plus printlog's own: Home Assistant discovery and the bound
// on finished jobs kept for a broker that is down. Errors name the key and the bad value.

import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { ConfigError, parseBoolValue, parseIntValue, parseNumberValue, type Config } from "../config/config.js";
import type { IniSection } from "../config/ini.js";

export type MqttProtocol = 3 | 4 | 5;
/** Moonraker's names for the protocol versions. */
const PROTOCOLS: Record<string, MqttProtocol> = { "v3.1": 3, "v3.1.1": 4, v5: 5 };

export interface MqttConfig {
  address: string;
  port: number;
  tls: boolean;
  clientId: string | null;
  username: string | null;
  password: string | null;
  protocol: MqttProtocol;
  instanceName: string;
  defaultQos: 0 | 1 | 2;
  apiQos: 0 | 1 | 2;
  enableApi: boolean;
  /** Seconds between coalesced status updates; 0 publishes each as it comes (Moonraker's). */
  statusInterval: number;
  discovery: boolean;
  discoveryPrefix: string;
  /** Finished jobs kept for publishing while the broker is unreachable. */
  backlog: number;
}

/** Klipper-only options of Moonraker's [mqtt]: accepted so pasted sections load, then ignored. */
const KLIPPER_ONLY = new Set(["status_objects", "publish_split_status"]);

/** A topic level: no MQTT wildcards, no separators, nothing invisible. */
const TOPIC_LEVEL = /^[^+#/\s\u0000-\u001f]{1,64}$/;

function qos(key: string, v: string): 0 | 1 | 2 {
  return parseIntValue(key, v, 0, 2) as 0 | 1 | 2;
}

export function parseMqttSection(section: IniSection, file: string, warnings: string[]): MqttConfig {
  const where = `${file}:${section.line} [mqtt]`;
  const opt = (k: string) => section.options.get(k)?.value;
  const key = (k: string) => `mqtt.${k}`;
  const known = new Set([
    "address", "port", "enable_tls", "client_id", "username", "password", "password_file", "mqtt_protocol", "instance_name",
    "default_qos", "api_qos", "enable_moonraker_api", "status_interval", "home_assistant_discovery", "discovery_prefix", "publish_backlog",
  ]);
  for (const [k, { line }] of section.options) {
    if (KLIPPER_ONLY.has(k)) warnings.push(`${file}:${line}: mqtt.${k} ignored (it publishes Klipper objects; printlog has none)`);
    else if (!known.has(k)) warnings.push(`${file}:${line}: unknown option 'mqtt.${k}' ignored`);
  }
  const address = opt("address")?.trim();
  if (!address) throw new ConfigError(key("address"), `${where}: mqtt.address (the broker's host name or IP address) is required`);
  if (/[\s/]/.test(address)) throw new ConfigError(key("address"), `${where}: mqtt.address: expected a host name or IP address, got '${address}'`, address);
  const protocolName = (opt("mqtt_protocol") ?? "v3.1.1").trim();
  const protocol = PROTOCOLS[protocolName];
  if (!protocol) throw new ConfigError(key("mqtt_protocol"), `${where}: mqtt.mqtt_protocol: expected v3.1, v3.1.1 or v5, got '${protocolName}'`, protocolName);
  const instanceName = (opt("instance_name") ?? hostname()).trim();
  if (!TOPIC_LEVEL.test(instanceName)) {
    throw new ConfigError(key("instance_name"), `${where}: mqtt.instance_name: 1-64 characters without spaces, '/', '+' or '#', got '${instanceName}'`, instanceName);
  }
  let password: string | null = opt("password") ?? null;
  const pwFile = opt("password_file");
  if (pwFile && password === null) {
    const path = pwFile.replace(/^~(?=\/)/, process.env["HOME"] ?? "~");
    try {
      password = readFileSync(path, "utf8").trim();
    } catch (e) {
      throw new ConfigError(key("password_file"), `${where}: mqtt.password_file: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, pwFile);
    }
  }
  const defaultQos = opt("default_qos") !== undefined ? qos(key("default_qos"), opt("default_qos")!) : 0;
  const statusInterval = opt("status_interval") !== undefined ? parseNumberValue(key("status_interval"), opt("status_interval")!, 0, 3600) : 0;
  if (statusInterval > 0 && statusInterval < 0.25) {
    throw new ConfigError(key("status_interval"), `${where}: mqtt.status_interval: 0 or at least 0.25 seconds, got '${opt("status_interval")}'`, statusInterval);
  }
  const prefix = (opt("discovery_prefix") ?? "homeassistant").trim();
  if (!TOPIC_LEVEL.test(prefix)) throw new ConfigError(key("discovery_prefix"), `${where}: mqtt.discovery_prefix: one topic level, got '${prefix}'`, prefix);
  const bool = (k: string, def: boolean) => (opt(k) !== undefined ? parseBoolValue(key(k), opt(k)!) : def);
  const clientId = opt("client_id")?.trim() || null;
  if (clientId !== null && clientId.length > 128) throw new ConfigError(key("client_id"), `${where}: mqtt.client_id: at most 128 characters`, clientId);
  return {
    address,
    port: opt("port") !== undefined ? parseIntValue(key("port"), opt("port")!, 1, 65535) : 1883,
    tls: bool("enable_tls", false),
    clientId,
    username: opt("username")?.trim() || null,
    password,
    protocol,
    instanceName,
    defaultQos,
    apiQos: opt("api_qos") !== undefined ? qos(key("api_qos"), opt("api_qos")!) : defaultQos,
    enableApi: bool("enable_moonraker_api", true),
    statusInterval,
    discovery: bool("home_assistant_discovery", false),
    discoveryPrefix: prefix,
    backlog: opt("publish_backlog") !== undefined ? parseIntValue(key("publish_backlog"), opt("publish_backlog")!, 1, 10_000) : 1000,
  };
}

/** The [mqtt] section of the configuration, or null when there is none. */
export function loadMqttConfig(config: Config): { mqtt: MqttConfig | null; warnings: string[] } {
  const section = config.sections.find((s) => s.name === "mqtt");
  const warnings: string[] = [];
  if (!section) return { mqtt: null, warnings };
  return { mqtt: parseMqttSection(section, config.source ?? "config", warnings), warnings };
}
