// Sensor readings in (server.sensors.update, printlog's own), sensor listing and Spoolman's
// active spool (Moonraker's shapes), over the same method table as everything else.

import { AuxError, type AuxService } from "../aux/service.js";
import { fieldOptions } from "../aux/config.js";
import { badRequest } from "./errors.js";
import type { ApiMethod } from "./methods.js";
import { toFloat } from "./args.js";

const MAX_VALUES = 32;

export function auxMethods(aux: AuxService, now: () => number = () => Date.now() / 1000): ApiMethod[] {
  return [
    {
      rpc: "server.sensors.update",
      http: { verb: "POST", path: "/server/sensors/update" },
      handler: (args) => {
        const sensor = args.str("sensor");
        const values = args.any("values");
        if (typeof values !== "object" || values === null || Array.isArray(values)) throw badRequest("'values' must be an object of parameter: value");
        const entries = Object.keys(values);
        if (entries.length === 0) throw badRequest("'values' is empty");
        if (entries.length > MAX_VALUES) throw badRequest(`'values' has more than ${MAX_VALUES} parameters`);
        let time = now();
        if (args.has("time") && args.any("time") !== null) {
          const t = toFloat(args.any("time"));
          if (t === null || t <= 0) throw badRequest(`'time' must be unix seconds, got ${JSON.stringify(args.any("time"))}`);
          if (t > time + 300) throw badRequest(`'time' ${t} is in the future`);
          time = t;
        }
        try {
          const accepted = aux.update(sensor, values as Record<string, unknown>, time);
          return { sensor, accepted, time };
        } catch (e) {
          if (e instanceof AuxError) throw badRequest(e.message);
          throw e;
        }
      },
    },
    {
      rpc: "server.sensors.list",
      http: { verb: "GET", path: "/server/sensors/list" },
      handler: (args) => {
        const extended = args.bool("extended", false);
        const sensors: Record<string, unknown> = {};
        for (const s of aux.setup.sensors) {
          const values = { ...(aux.latest.get(s.name) ?? {}) };
          sensors[s.name] = {
            id: s.name,
            friendly_name: s.friendlyName,
            type: "printlog",
            values,
            ...(extended
              ? {
                  parameter_info: s.parameters.map((p) => ({ name: p, units: s.fields.find((f) => f.parameter === p)?.units ?? null })),
                  history_fields: s.fields.map((f) => ({ field: f.name, provider: f.provider, description: f.desc, ...fieldOptions(f) })),
                }
              : {}),
          };
        }
        return { sensors };
      },
    },
    {
      rpc: "server.spoolman.get_spool_id",
      http: { verb: "GET", path: "/server/spoolman/spool_id" },
      handler: () => ({ spool_id: aux.activeSpool }),
    },
    {
      rpc: "server.spoolman.post_spool_id",
      http: { verb: "POST", path: "/server/spoolman/spool_id" },
      handler: async (args) => {
        const raw = args.any("spool_id", null);
        let id: number | null = null;
        if (raw !== null) {
          id = args.strictInt("spool_id");
          if (id < 0 || id > 2 ** 31) throw badRequest(`spool_id must be a positive whole number, got ${JSON.stringify(raw)}`);
        }
        await aux.setActiveSpool(id, now());
        return { spool_id: id };
      },
    },
  ];
}
