// Plumbing for the hostile-client tests: the real printlog process from a config text, raw HTTP
// requests with any Host / Origin / body framing, and the server process's resident memory.

import { request as httpRequest } from "node:http";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startCli, tempDir, type RunningProcess } from "../helpers.js";

export interface Served {
  pl: RunningProcess;
  url: string;
  port: number;
  dir: string;
  data: string;
}

export interface ServeOptions {
  /** Config text after the [server] and [printer] sections. */
  extra?: string;
  host?: string;
  /** More [server] lines. */
  serverLines?: string;
  data?: string;
}

/** printlog serving with no printer (on 127.0.0.1 unless told), plus the given config lines. */
export async function serve(t: { after(fn: () => unknown): void }, o: ServeOptions = {}): Promise<Served> {
  const { extra = "", host = "127.0.0.1", serverLines = "" } = o;
  const dir = await tempDir(t);
  const data = o.data ?? join(dir, "data");
  const cfg = join(dir, "printlog.cfg");
  await writeFile(cfg, `[server]\nhost: ${host}\nport: 0\ndata_dir: ${data}\n${serverLines}[printer]\ndevice: none\n${extra}`);
  const pl = await startCli(["serve", "--config", cfg]);
  t.after(() => pl.stop("SIGKILL"));
  const port = Number(new URL(pl.url).port);
  return { pl, url: `http://127.0.0.1:${port}`, port, dir, data };
}

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any;
}

export interface RawOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked, in pieces of this size. */
  chunk?: number;
  host?: string;
  timeoutMs?: number;
}

/** One HTTP request over node:http, which lets a test set Host and the body's framing. */
export function raw(port: number, path: string, o: RawOptions = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    const body = o.body === undefined ? undefined : Buffer.from(o.body);
    if (body && !o.chunk) headers["Content-Length"] = String(body.length);
    const req = httpRequest({ host: o.host ?? "127.0.0.1", port, path, method: o.method ?? "GET", headers, agent: false, timeout: o.timeoutMs ?? 30_000 }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => {
        const text = Buffer.concat(parts).toString("utf8");
        let parsed: unknown = text;
        try {
          parsed = text === "" ? null : JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`timeout: ${o.method ?? "GET"} ${path}`)));
    req.on("error", reject);
    if (body && o.chunk) {
      for (let i = 0; i < body.length; i += o.chunk) req.write(body.subarray(i, i + o.chunk));
      req.end();
    } else req.end(body);
  });
}

/** Resident memory of a process in MiB (Linux). */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}

/** `[[[…1…]]]` nested `depth` deep, as JSON text, without building the value. */
export const deepArray = (depth: number): string => "[".repeat(depth) + "1" + "]".repeat(depth);
