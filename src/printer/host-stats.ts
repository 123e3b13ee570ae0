// Klipper's system_stats from the host printlog runs on (memavail in kB, as Klipper reports it).

import { freemem, loadavg } from "node:os";
import type { HostStats } from "./objects.js";

export function hostStats(): HostStats {
  const cpu = process.cpuUsage();
  return { sysload: loadavg()[0] ?? 0, cputime: (cpu.user + cpu.system) / 1e6, memavail: freemem() / 1024 };
}
