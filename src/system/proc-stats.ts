// Real figures from this machine and process, in Moonraker's machine.* shapes: CPU, memory,
// distribution, uptime, CPU temperature (where /sys has it) and network counters.

import { readFileSync } from "node:fs";
import os from "node:os";

const read = (path: string): string | null => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
};

function meminfo(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (read("/proc/meminfo") ?? "").split("\n")) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

function cpuTimes(): Record<string, { idle: number; total: number }> {
  const out: Record<string, { idle: number; total: number }> = {};
  for (const line of (read("/proc/stat") ?? "").split("\n")) {
    const m = /^(cpu\d*)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    out[m[1]!] = { idle, total: v.reduce((a, b) => a + b, 0) };
  }
  return out;
}

function netCounters(): Record<string, { rx_bytes: number; tx_bytes: number; rx_packets: number; tx_packets: number; rx_errs: number; tx_errs: number; rx_drop: number; tx_drop: number }> {
  const out: ReturnType<typeof netCounters> = {};
  for (const line of (read("/proc/net/dev") ?? "").split("\n").slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    out[m[1]!.trim()] = { rx_bytes: v[0]!, rx_packets: v[1]!, rx_errs: v[2]!, rx_drop: v[3]!, tx_bytes: v[8]!, tx_packets: v[9]!, tx_errs: v[10]!, tx_drop: v[11]! };
  }
  return out;
}

export function cpuTemperature(): number | null {
  const t = read("/sys/class/thermal/thermal_zone0/temp");
  const n = t === null ? NaN : Number(t.trim());
  return Number.isFinite(n) ? Math.round(n / 10) / 100 : null;
}

export function systemInfo(provider = "none"): Record<string, unknown> {
  const cpuinfo = read("/proc/cpuinfo") ?? "";
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "mi").exec(cpuinfo)?.[1]?.trim() ?? "";
  const release: Record<string, string> = {};
  for (const line of (read("/etc/os-release") ?? "").split("\n")) {
    const m = /^(\w+)=(.*)$/.exec(line);
    if (m) release[m[1]!] = m[2]!.replace(/^"|"$/g, "");
  }
  const version = release["VERSION_ID"] ?? "";
  const [major = "", minor = "", build = ""] = version.split(".");
  const network: Record<string, unknown> = {};
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    if (!addrs || name === "lo") continue;
    network[name] = {
      mac_address: addrs[0]?.mac ?? "",
      ip_addresses: addrs.map((a) => ({ family: a.family === "IPv4" ? "ipv4" : "ipv6", address: a.address, is_link_local: a.address.startsWith("fe80:") || a.address.startsWith("169.254.") })),
    };
  }
  const mem = meminfo();
  const inContainer = read("/.dockerenv") !== null || /docker|lxc|kubepods/.test(read("/proc/1/cgroup") ?? "");
  return {
    provider,
    cpu_info: {
      cpu_count: os.cpus().length || null,
      bits: process.arch.includes("64") ? "64bit" : "32bit",
      processor: os.machine(),
      cpu_desc: field("model name") || field("Processor") || os.cpus()[0]?.model || "",
      serial_number: field("Serial"),
      hardware_desc: field("Hardware"),
      model: field("Model") || (read("/proc/device-tree/model") ?? "").replace(/\0/g, ""),
      total_memory: mem["MemTotal"] ?? Math.round(os.totalmem() / 1024),
      memory_units: "kB",
    },
    sd_info: {},
    distribution: {
      name: release["PRETTY_NAME"] ?? `${os.type()} ${os.release()}`,
      id: release["ID"] ?? "",
      version,
      version_parts: { major, minor, build_number: build },
      like: release["ID_LIKE"] ?? "",
      codename: release["VERSION_CODENAME"] ?? "",
      release_info: release,
    },
    available_services: [],
    instance_ids: { moonraker: "printlog" },
    service_state: {},
    virtualization: { virt_type: inContainer ? "container" : "none", virt_identifier: inContainer ? "container" : "none" },
    python: { version: [0, 0, 0, "final", 0], version_string: `printlog runs on Node.js ${process.version}, not Python` },
    network,
    canbus: {},
  };
}

export interface ProcSample {
  time: number;
  cpu_usage: number;
  memory: number;
  mem_units: "kB";
}

/** Samples the process and the system once a second; keeps the last 30 process samples. */
export class ProcStats {
  readonly history: ProcSample[] = [];
  private lastCpu = process.cpuUsage();
  private lastWall = process.hrtime.bigint();
  private lastTimes = cpuTimes();
  private lastNet = netCounters();
  private lastNetAt = Date.now();
  systemCpu: Record<string, number> = {};
  network: Record<string, Record<string, number>> = {};

  sample(): ProcSample {
    const now = process.hrtime.bigint();
    const cpu = process.cpuUsage(this.lastCpu);
    const wallUs = Number(now - this.lastWall) / 1000;
    this.lastCpu = process.cpuUsage();
    this.lastWall = now;
    const s: ProcSample = {
      time: Date.now() / 1000,
      cpu_usage: wallUs > 0 ? Math.round(((cpu.user + cpu.system) / wallUs) * 10000) / 100 : 0,
      memory: Math.round(process.memoryUsage.rss() / 1024),
      mem_units: "kB",
    };
    this.history.push(s);
    if (this.history.length > 30) this.history.shift();
    const times = cpuTimes();
    this.systemCpu = {};
    for (const [name, t] of Object.entries(times)) {
      const prev = this.lastTimes[name];
      const dt = prev ? t.total - prev.total : 0;
      this.systemCpu[name] = dt > 0 ? Math.round((1 - (t.idle - prev!.idle) / dt) * 10000) / 100 : 0;
    }
    this.lastTimes = times;
    const net = netCounters();
    const secs = Math.max(0.001, (Date.now() - this.lastNetAt) / 1000);
    this.network = {};
    for (const [name, c] of Object.entries(net)) {
      const prev = this.lastNet[name];
      const bandwidth = prev ? Math.round(((c.rx_bytes - prev.rx_bytes + c.tx_bytes - prev.tx_bytes) / secs) * 100) / 100 : 0;
      this.network[name] = { ...c, bandwidth };
    }
    this.lastNet = net;
    this.lastNetAt = Date.now();
    return s;
  }

  systemMemory(): { total: number; available: number; used: number } {
    const m = meminfo();
    const total = m["MemTotal"] ?? Math.round(os.totalmem() / 1024);
    const available = m["MemAvailable"] ?? Math.round(os.freemem() / 1024);
    return { total, available, used: total - available };
  }

  /** machine.proc_stats */
  snapshot(websocketConnections: number): Record<string, unknown> {
    if (this.history.length === 0) this.sample();
    return {
      moonraker_stats: this.history,
      throttled_state: { bits: 0, flags: [] },
      cpu_temp: cpuTemperature(),
      network: this.network,
      system_cpu_usage: this.systemCpu,
      system_memory: this.systemMemory(),
      system_uptime: os.uptime(),
      websocket_connections: websocketConnections,
    };
  }

  /** notify_proc_stat_update's parameter. */
  update(websocketConnections: number): Record<string, unknown> {
    const latest = this.sample();
    return {
      moonraker_stats: latest,
      cpu_temp: cpuTemperature(),
      network: this.network,
      system_cpu_usage: this.systemCpu,
      system_memory: this.systemMemory(),
      websocket_connections: websocketConnections,
    };
  }
}
