// The MQTT section of `npm run bench`: latency from the virtual printer writing `Done printing
// file` to an MQTT subscriber receiving the job on `{instance}/printlog/last_job`, and the CPU
// printlog spends at idle with and without an [mqtt] connection.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Broker, Watcher, mqttSection } from "./mqtt-broker.js";
import { VirtualPrinter } from "./virtual-printer.js";
import { deployedNodeFlags } from "./node-flags.js";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "cli", "main.js");
const fmt = (n: number, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

function start(cfg: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [...deployedNodeFlags(join(dirname(CLI), "..", "..", "..")), CLI, "serve", "--config", cfg], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    const on = (d: Buffer) => {
      out += d.toString();
      if (/serving the history API/.test(out) && (!/\[mqtt\]/.test(cfg) || /mqtt\.connected/.test(out))) resolve(proc);
    };
    proc.stdout!.on("data", on);
    proc.stderr!.on("data", on);
    proc.once("exit", () => reject(new Error(`printlog exited:\n${out}`)));
  });
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

export async function benchMqtt(log: (s: string) => void, quick: boolean): Promise<{ maxLatencyMs: number }> {
  const dir = await mkdtemp(join(tmpdir(), "printlog-bench-mqtt-"));
  const broker = await Broker.start();
  try {
    // ---- publish latency ----
    const link = join(dir, "tty");
    const vp = new VirtualPrinter({ link, dialect: "marlin2_host", printSeconds: 1 });
    await vp.plug();
    const cfg = join(dir, "printer.cfg");
    await writeFile(cfg, `[server]\nhost: 127.0.0.1\nport: 0\ndata_dir: ${join(dir, "d1")}\nlog_level: warn\n[printer]\ndevice: ${link}\npoll_printing_seconds: 1\n${mqttSection(broker.port, "bench")}`);
    const w = await Watcher.connect(broker.url, ["bench/printlog/last_job"]);
    const proc = await start(cfg);
    await new Promise((r) => setTimeout(r, 3000)); // handshake with the printer
    const rounds = quick ? 3 : 8;
    const latencies: number[] = [];
    for (let i = 0; i < rounds; i++) {
      let doneAt = 0;
      const origWrite = (vp as unknown as { write: (...l: string[]) => void }).write.bind(vp);
      (vp as unknown as { write: (...l: string[]) => void }).write = (...l: string[]) => {
        if (l.includes("Done printing file")) doneAt = Date.now();
        origWrite(...l);
      };
      const before = w.messages.length;
      vp.startPrint("CUBE~1.GCO");
      const got = await w.until((all) => all.length > before, "the job on last_job", 60_000);
      latencies.push(got.at(-1)!.at - doneAt);
      await new Promise((r) => setTimeout(r, 1200));
    }
    await w.close();
    proc.kill("SIGTERM");
    await vp.close();
    latencies.sort((a, b) => a - b);
    log(`## MQTT\n`);
    log(`Publish latency, from the virtual printer writing \`Done printing file\` to the pseudo-terminal until an MQTT subscriber (QoS 1, local Mosquitto) receives the job on \`{instance}/printlog/last_job\`, ${rounds} jobs: median ${fmt(latencies[Math.floor(rounds / 2)]!)} ms, max ${fmt(latencies[rounds - 1]!)} ms (millisecond clock).\n`);

    // ---- CPU at idle ----
    const seconds = quick ? 5 : 20;
    const base = (name: string) => `[server]\nhost: 127.0.0.1\nport: 0\ndata_dir: ${join(dir, name)}\nlog_level: warn\n[printer]\ndevice: none\n`;
    await writeFile(join(dir, "plain.cfg"), base("plain"));
    await writeFile(join(dir, "mqtt.cfg"), base("mqtt") + mqttSection(broker.port, "idle", ["home_assistant_discovery: true"]));
    const plain = await start(join(dir, "plain.cfg"));
    const withMqtt = await start(join(dir, "mqtt.cfg"));
    await new Promise((r) => setTimeout(r, 2000));
    const [p0, m0] = [await cpuSeconds(plain.pid!), await cpuSeconds(withMqtt.pid!)];
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const [p1, m1] = [await cpuSeconds(plain.pid!), await cpuSeconds(withMqtt.pid!)];
    plain.kill("SIGTERM");
    withMqtt.kill("SIGTERM");
    const pct = (a: number, b: number) => (100 * (b - a)) / seconds;
    log(`CPU at idle over ${seconds} s (no printer, no clients; percent of one core, 10 ms resolution): without [mqtt] ${fmt(pct(p0, p1), 2)} %, with [mqtt] and Home Assistant discovery connected to the broker ${fmt(pct(m0, m1), 2)} %.\n`);
    return { maxLatencyMs: latencies[rounds - 1]! };
  } finally {
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
}

// Alone: `node dist/scripts/bench-mqtt.js [--quick]` prints this section only.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, "/"))) {
  await benchMqtt((s) => console.log(s), process.argv.includes("--quick"));
}
