// Shared test plumbing: temp directories, the real printlog process, HTTP and WebSocket clients.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { defaultConfig, type Config } from "../src/config/config.js";
import { startPrintlog, type Printlog } from "../src/main.js";
import { silentLogger } from "../src/log.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI = join(ROOT, "dist", "src", "cli", "main.js");

export async function tempDir(t?: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "printlog-test-"));
  t?.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface RunningProcess {
  proc: ChildProcess;
  url: string;
  output: () => string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the real `printlog` with args and waits until it prints the URL it serves on. */
export async function startCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT, nodeFlags: string[] = []): Promise<RunningProcess> {
  const proc = spawn(process.execPath, [...nodeFlags, CLI, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  proc.stdout!.on("data", onData);
  proc.stderr!.on("data", onData);
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  const waitFor = (pattern: RegExp, timeoutMs = 10_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = out.match(pattern);
        if (m) {
          listeners.delete(check);
          clearTimeout(timer);
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out waiting for ${pattern}; output so far:\n${out}`));
      }, timeoutMs);
      listeners.add(check);
      void exited.then((code) => {
        if (!out.match(pattern)) {
          listeners.delete(check);
          clearTimeout(timer);
          reject(new Error(`process exited (${code}) before ${pattern}; output:\n${out}`));
        }
      });
      check();
    });
  const m = await waitFor(/serving the history API on (http:\/\/\S+)/);
  return {
    proc,
    url: m[1]!,
    output: () => out,
    waitFor,
    stop: async (signal: NodeJS.Signals = "SIGTERM") => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

export interface JsonReply {
  status: number;
  headers: Headers;
  body: any;
}

export async function http(url: string, init: RequestInit = {}): Promise<JsonReply> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === "" ? null : JSON.parse(text);
  } catch {
    // leave as text
  }
  return { status: res.status, headers: res.headers, body };
}

export const jsonBody = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

/** A WebSocket JSON-RPC client that keeps every message it receives. */
export class RpcClient {
  readonly messages: any[] = [];
  private waiters: { pred: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  private nextId = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString());
      this.messages.push(msg);
      for (const w of [...this.waiters]) {
        if (w.pred(msg)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(msg);
        }
      }
    });
  }

  static connect(url: string, headers: Record<string, string> = {}): Promise<RpcClient> {
    const ws = new WebSocket(url.replace(/^http/, "ws") + "/websocket", { headers });
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(new RpcClient(ws)));
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once("error", reject);
    });
  }

  /** Resolves with the first message (already received or future) matching pred. */
  waitFor(pred: (m: any) => boolean, timeoutMs = 20_000): Promise<any> {
    const have = this.messages.find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i !== -1) {
          this.waiters.splice(i, 1);
          reject(new Error(`no matching message within ${timeoutMs} ms`));
        }
      }, timeoutMs).unref();
    });
  }

  async call(method: string, params?: unknown, id: number | string = this.nextId++): Promise<any> {
    this.ws.send(JSON.stringify({ jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }), id }));
    return this.waitFor((m) => m.id === id && ("result" in m || "error" in m));
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  close(): void {
    this.ws.close();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** printlog in this process on a real loopback port with a temp data dir and no printer. */
export async function startInProcess(tweak: (c: Config) => void = () => undefined): Promise<{ app: Printlog; url: string; close(): Promise<void> }> {
  const dir = await tempDir();
  const config = defaultConfig();
  config.server.host = "127.0.0.1";
  config.server.port = 0;
  config.server.dataDir = dir;
  config.printer.device = "none";
  tweak(config);
  const app = await startPrintlog(config, silentLogger);
  return {
    app,
    url: app.server.url,
    close: async () => {
      await app.stop("test over");
      await rm(dir, { recursive: true, force: true });
    },
  };
}
