// Plumbing for the live-printer tests: printlog's real process on a virtual printer, and waits
// that poll a condition instead of sleeping a fixed time (the machine may be loaded).

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { VirtualPrinter, type VpDialect } from "../../scripts/virtual-printer.js";
import { http, jsonBody, sleep, startCli, tempDir, type RunningProcess } from "../helpers.js";

export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 30_000, log?: () => string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${log ? `\nprintlog's log:\n${log().split("\n").slice(-30).join("\n")}` : ""}`);
    await sleep(150);
  }
}

export interface Rig {
  dir: string;
  config: string;
  vp: VirtualPrinter;
  pl: RunningProcess;
  url(): string;
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** A virtual printer (not yet plugged in unless `plugged`) and printlog watching its port. */
export async function rig(t: { after(fn: () => unknown): void }, dialect: VpDialect, opts: { plugged?: boolean; printSeconds?: number } = {}): Promise<Rig> {
  const dir = await tempDir(t);
  const link = join(dir, "printer");
  const config = join(dir, "printlog.cfg");
  await writeFile(
    config,
    ["[printer]", `device: ${link}`, "poll_printing_seconds: 1", "poll_idle_seconds: 2", "command_timeout_seconds: 3", "", "[server]", "host: 127.0.0.1", "port: 0", `data_dir: ${join(dir, "data")}`, ""].join("\n"),
  );
  const vp = new VirtualPrinter({ link, dialect, printSeconds: opts.printSeconds ?? 8 });
  if (opts.plugged) await vp.plug();
  const r: Rig = {
    dir,
    config,
    vp,
    pl: await startCli(["serve", "--config", config]),
    url: () => r.pl.url,
    restart: async () => {
      await r.pl.stop("SIGTERM");
      r.pl = await startCli(["serve", "--config", config]);
    },
    close: async () => {
      await r.pl.stop("SIGKILL");
      await vp.close();
    },
  };
  t.after(() => r.close());
  return r;
}

/** One JSON-RPC call over HTTP POST /server/jsonrpc (or a batch when given an array). */
export async function rpcHttp(url: string, body: unknown): Promise<any> {
  return (await http(`${url}/server/jsonrpc`, jsonBody(body))).body;
}
