// `printlog check-config`: loads and validates a configuration file, prints what it resolved to.

import { loadSpoolmanSettings } from "../aux/spoolman.js";
import { CONFIG_FLAGS, EXIT_OK, configFrom, parse } from "./common.js";
import { loadSensorConfig } from "../aux/config.js";
import { loadMqttSetup } from "../mqtt/start.js";

export const CHECK_HELP = `Usage: printlog check-config [--config FILE]

Validates the configuration (file, environment and defaults) and prints the settings in force.
Exits 2 with the offending key and value when something is wrong.
`;

export async function checkConfigCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, CONFIG_FLAGS);
  if (values.help) return void process.stdout.write(CHECK_HELP), EXIT_OK;
  const config = configFrom(values);
  const spoolman = loadSpoolmanSettings(config, config.warnings);
  const sensors = loadSensorConfig(config);
  const { mqtt, warnings: mqttWarnings } = loadMqttSetup(config);
  for (const w of [...config.warnings, ...sensors.warnings, ...mqttWarnings]) process.stdout.write(`warning: ${w}\n`);
  process.stdout.write(`configuration OK${config.source ? ` (${config.source})` : " (defaults)"}\n`);
  const p = config.printer;
  process.stdout.write(
    [
      `  listen      ${config.server.host}:${config.server.port}`,
      `  data_dir    ${config.server.dataDir}`,
      `  device      ${p.device} at ${p.baud} baud (fallback ${p.fallbackBauds.join(", ") || "none"})`,
      `  gcode_dir   ${p.gcodeDir ?? "(none)"}`,
      `  trusted     ${config.auth.trustedClients.join(", ")}`,
      `  cors        ${config.auth.corsDomains.join(", ") || "(none)"}`,
      `  spoolman    ${spoolman ? spoolman.apiUrl : "(none)"}`,
      `  sensors     ${sensors.sensors.map((s) => `${s.name} (${s.fields.length} history fields)`).join(", ") || "(none)"}`,
      `  line rules  ${sensors.rules.length}`,
      `  mqtt        ${mqtt ? `${mqtt.address}:${mqtt.port} as ${mqtt.instanceName}${mqtt.discovery ? ", Home Assistant discovery" : ""}` : "(none)"}`,
      "",
    ].join("\n"),
  );
  return EXIT_OK;
}
