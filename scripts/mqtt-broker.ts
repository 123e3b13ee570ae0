// A real Mosquitto broker (Debian's `mosquitto`, own temp config, free loopback port) for tests,
// the farm script and the benchmark, and a subscriber that keeps every message it receives.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type IClientOptions, type MqttClient } from "mqtt";

/** Debian installs the broker in /usr/sbin, which is not on every user's PATH. */
const MOSQUITTO = existsSync("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

export class Broker {
  private proc: ChildProcess | null = null;
  log = "";

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  /** Starts mosquitto; `persistence` keeps sessions and retained messages across down()/up(). */
  static async start(persistence = false, port?: number): Promise<Broker> {
    const dir = await mkdtemp(join(tmpdir(), "printlog-mosquitto-"));
    // Started as root, mosquitto drops to its own user, which must be able to save its database.
    await chmod(dir, 0o777);
    port ??= await freePort();
    const conf = [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      `persistence ${persistence}`,
      `persistence_location ${dir}/`,
      "log_dest stderr",
      "log_type error",
      "log_type warning",
      "",
    ].join("\n");
    await writeFile(join(dir, "mosquitto.conf"), conf);
    const b = new Broker(dir, port);
    await b.up();
    return b;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    if (this.proc) return;
    const proc = spawn(MOSQUITTO, ["-c", join(this.dir, "mosquitto.conf")], { stdio: ["ignore", "ignore", "pipe"] });
    proc.stderr!.on("data", (d: Buffer) => (this.log += d.toString()));
    this.proc = proc;
    proc.on("exit", () => {
      if (this.proc === proc) this.proc = null;
    });
    for (let i = 0; i < 200; i++) {
      if (await canConnect(this.port)) return;
      if (!this.proc) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`mosquitto did not start on port ${this.port}: ${this.log}`);
  }

  /** Stops the broker (SIGTERM: it saves its persistence file first). */
  async down(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.proc = null;
    await new Promise<void>((r) => {
      proc.once("exit", () => r());
      proc.kill("SIGTERM");
    });
  }

  async close(): Promise<void> {
    await this.down();
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface Received {
  topic: string;
  text: string;
  json: any;
  retain: boolean;
  /** When it arrived, ms since the epoch. */
  at: number;
}

/** An MQTT client for tests: subscribes, keeps everything, waits for conditions. */
export class Watcher {
  readonly messages: Received[] = [];
  private waiters: (() => void)[] = [];

  private constructor(readonly client: MqttClient) {
    client.on("message", (topic, payload, packet) => {
      const text = payload.toString();
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON
      }
      this.messages.push({ topic, text, json, retain: packet.retain, at: Date.now() });
      for (const w of [...this.waiters]) w();
    });
  }

  static async connect(url: string, topics: string[], opts: IClientOptions = {}): Promise<Watcher> {
    const client = connect(url, { reconnectPeriod: 500, ...opts });
    const w = new Watcher(client);
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", reject);
    });
    if (topics.length > 0) await client.subscribeAsync(topics, { qos: 1 });
    return w;
  }

  /** Resolves with the messages once pred holds over all of them. */
  until(pred: (all: Received[]) => boolean, what: string, timeoutMs = 20_000): Promise<Received[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (pred(this.messages)) {
          this.waiters = this.waiters.filter((w) => w !== check);
          clearTimeout(timer);
          clearInterval(poll);
          resolve(this.messages);
        }
      };
      // Conditions on other state than the messages are re-checked as time passes.
      const poll = setInterval(check, 100);
      const timer = setTimeout(() => {
        clearInterval(poll);
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out waiting for ${what}; received: ${this.messages.map((m) => `${m.topic} ${m.text.slice(0, 200)}`).join("\n")}`));
      }, timeoutMs);
      this.waiters.push(check);
      check();
    });
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

export function mqttSection(port: number, instance: string, extra: string[] = []): string {
  return ["[mqtt]", "address: 127.0.0.1", `port: ${port}`, `instance_name: ${instance}`, "default_qos: 1", ...extra, ""].join("\n");
}
