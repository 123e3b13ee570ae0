// Moonraker's data stores (MO:components/data_store.py): the temperature history (one sample
// per second per sensor, the last 20 minutes, rounded to 0.01) and the console's G-code FIFO.

import type { HeaterReading } from "./line-parsers.js";

export const TEMPERATURE_STORE_SIZE = 1200;
export const GCODE_STORE_SIZE = 1000;

interface Series {
  temperatures: number[];
  targets: number[];
  powers: number[];
}

const r2 = (n: number) => Math.round(n * 100) / 100;

export class TemperatureStore {
  private readonly series = new Map<string, Series>();

  constructor(private readonly size = TEMPERATURE_STORE_SIZE) {}

  /** Adds one sample per sensor that has a reading; sensors without one stay absent. */
  sample(readings: Record<string, HeaterReading>): void {
    for (const [name, r] of Object.entries(readings)) {
      let s = this.series.get(name);
      if (!s) this.series.set(name, (s = { temperatures: [], targets: [], powers: [] }));
      s.temperatures.push(r2(r.temperature));
      s.targets.push(r2(r.target ?? 0));
      s.powers.push(r2(r.power ?? 0));
      if (s.temperatures.length > this.size) {
        s.temperatures.shift();
        s.targets.shift();
        s.powers.shift();
      }
    }
  }

  /** Forgets every sensor (the printer rebooted: its heaters may differ). */
  clear(): void {
    this.series.clear();
  }

  toJSON(): Record<string, Series> {
    const out: Record<string, Series> = {};
    for (const [name, s] of this.series) out[name] = { temperatures: [...s.temperatures], targets: [...s.targets], powers: [...s.powers] };
    return out;
  }
}

export interface GcodeEntry {
  message: string;
  time: number;
  type: "command" | "response";
}

export class GcodeStore {
  private readonly entries: GcodeEntry[] = [];

  constructor(private readonly size = GCODE_STORE_SIZE) {}

  add(message: string, type: GcodeEntry["type"], time: number): void {
    this.entries.push({ message, time, type });
    if (this.entries.length > this.size) this.entries.splice(0, this.entries.length - this.size);
  }

  /** The last `count` entries, oldest first. */
  last(count = this.size): GcodeEntry[] {
    return count <= 0 ? [] : this.entries.slice(-count);
  }
}
