// Sample sensor script: polls a smart plug's energy meter and posts the readings to printlog.
//   node dist/scripts/power-meter.js --plug http://192.168.1.60 [--printlog http://localhost:7125]
//        [--sensor power] [--every 10] [--api-key KEY]
// Works with Tasmota plugs (`/cm?cmnd=Status%208` -> StatusSNS.ENERGY.Total in kWh, Current in A)
// and Shelly Plug S gen 1 (`/meter/0` -> total in watt-minutes). Pair it with:
//   [sensor power]
//   history_field_energy:
//     parameter=energy
//     strategy=delta
//     units=kWh
//     report_total=true
//   history_field_max_current:
//     parameter=current
//     strategy=maximum
//     units=A

interface Reading {
  energy: number;
  current?: number;
}

function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i === -1 ? def : process.argv[i + 1];
  if (v === undefined) {
    process.stderr.write(`power-meter: --${name} is required\n`);
    process.exit(2);
  }
  return v;
}

async function readPlug(base: string): Promise<Reading> {
  const tasmota = await fetch(`${base}/cm?cmnd=Status%208`, { signal: AbortSignal.timeout(5000) }).catch(() => null);
  if (tasmota?.ok) {
    const j = (await tasmota.json()) as { StatusSNS?: { ENERGY?: { Total?: number; Current?: number } } };
    const e = j.StatusSNS?.ENERGY;
    if (typeof e?.Total === "number") return { energy: e.Total, ...(typeof e.Current === "number" ? { current: e.Current } : {}) };
  }
  const shelly = await fetch(`${base}/meter/0`, { signal: AbortSignal.timeout(5000) });
  const j = (await shelly.json()) as { total?: number };
  if (typeof j.total !== "number") throw new Error("the plug answered neither as Tasmota nor as Shelly");
  return { energy: j.total / 60000 }; // watt-minutes -> kWh
}

async function main(): Promise<void> {
  const plug = arg("plug").replace(/\/$/, "");
  const printlog = arg("printlog", "http://localhost:7125").replace(/\/$/, "");
  const sensor = arg("sensor", "power");
  const every = Number(arg("every", "10")) * 1000;
  const key = process.argv.includes("--api-key") ? arg("api-key") : undefined;
  for (;;) {
    try {
      const values = await readPlug(plug);
      const r = await fetch(`${printlog}/server/sensors/update`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...(key ? { "X-Api-Key": key } : {}) },
        body: JSON.stringify({ sensor, values, time: Date.now() / 1000 }),
      });
      if (!r.ok) process.stderr.write(`power-meter: printlog answered ${r.status}: ${await r.text()}\n`);
    } catch (e) {
      process.stderr.write(`power-meter: ${(e as Error).message}\n`);
    }
    await new Promise((r) => setTimeout(r, every));
  }
}

void main();
