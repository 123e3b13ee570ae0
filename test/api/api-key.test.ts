// The API key file is written durably: traced system calls of the real process show the key
// written to a temp file, fsync'd, renamed over api_key, and the directory fsync'd, in that order.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CLI, tempDir } from "../helpers.js";

const SKIP = spawnSync("strace", ["-V"]).status === 0 ? false : "needs strace to watch the fsync calls";

test("api_key: temp file, fsync, rename, directory fsync", { skip: SKIP, timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const data = join(dir, "data");
  const cfg = join(dir, "c.cfg");
  const trace = join(dir, "trace");
  await writeFile(cfg, `[server]\nhost: 127.0.0.1\nport: 0\ndata_dir: ${data}\n[printer]\ndevice: none\n`);
  const proc = spawn("strace", ["-f", "-qq", "-o", trace, "-e", "trace=openat,fsync,fdatasync,rename,renameat,renameat2,close", process.execPath, CLI, "serve", "--config", cfg], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(async () => {
    const first = /^(\d+)\s/.exec(await readFile(trace, "utf8").catch(() => ""));
    if (first) {
      try {
        process.kill(Number(first[1]), "SIGKILL");
      } catch {
        // already gone
      }
    }
    proc.kill("SIGKILL");
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no start: ${out}`)), 50_000);
    const on = (d: Buffer) => {
      out += d.toString();
      if (/serving the history API/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout.on("data", on);
    proc.stderr.on("data", on);
  });
  // Stop printlog itself: strace, signalled, would detach and leave it running.
  const pid = Number(/^(\d+)\s/.exec(await readFile(trace, "utf8"))![1]);
  process.kill(pid, "SIGTERM");
  await new Promise((r) => proc.once("exit", r));
  const lines = (await readFile(trace, "utf8")).split("\n");
  // Follow the file descriptors: the temp file's and the directory's.
  const tmpOpen = lines.findIndex((l) => /openat\(.*api_key\.tmp", O_WRONLY\|O_CREAT\|O_TRUNC.*0600\) = \d+/.test(l));
  assert.ok(tmpOpen >= 0, "api_key.tmp opened for writing with mode 600");
  const tmpFd = /= (\d+)$/.exec(lines[tmpOpen]!)![1];
  const after = lines.slice(tmpOpen);
  const fsyncTmp = after.findIndex((l) => new RegExp(`\\b(fsync|fdatasync)\\(${tmpFd}\\)`).test(l));
  const rename = after.findIndex((l) => /rename(at2?)?\(.*api_key\.tmp".*api_key"/.test(l));
  assert.ok(fsyncTmp > 0, "the temp file is fsync'd");
  assert.ok(rename > fsyncTmp, "renamed after the fsync");
  const dirOpen = after.findIndex((l, i) => i > rename && new RegExp(`openat\\(.*"${data.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}", O_RDONLY`).test(l));
  assert.ok(dirOpen > rename, "the data directory is opened after the rename");
  const dirFd = /= (\d+)$/.exec(after[dirOpen]!)![1];
  assert.ok(after.slice(dirOpen).some((l) => new RegExp(`\\bfsync\\(${dirFd}\\)`).test(l)), "and fsync'd");
  assert.match((await readFile(join(data, "api_key"), "utf8")).trim(), /^[0-9a-f]{32}$/);
});
