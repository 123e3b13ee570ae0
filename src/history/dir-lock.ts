// One writer per data directory: two processes appending to one journal would interleave records.
// The lock is a Linux abstract-namespace socket named after the directory's device and inode: the
// kernel frees it when its process ends, however it ends, so a stale lock cannot outlive a power
// cut (a pid file can: its pid may belong to another process after a reboot). The holder answers
// a connection with its pid, for the "in use by another printlog (pid N)" message.

import { createConnection, createServer, type Server } from "node:net";
import { stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HistoryError } from "./errors.js";
import type { Logger } from "../log.js";

export async function lockName(dir: string): Promise<string> {
  const st = await stat(dir);
  return `\0printlog-data-${st.dev}-${st.ino}`;
}

/** The pid of the printlog holding `name`, or null when the holder does not answer. */
function holderPid(name: string): Promise<number | null> {
  return new Promise((resolve) => {
    let text = "";
    const sock = createConnection({ path: name });
    const done = (pid: number | null) => {
      sock.destroy();
      resolve(pid);
    };
    sock.setTimeout(2000, () => done(null));
    sock.on("data", (d) => (text += d.toString()));
    sock.on("end", () => done(Number.parseInt(text, 10) || null));
    sock.on("error", () => done(null));
  });
}

function listen(server: Server, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ path: name, exclusive: true }, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Takes the lock or throws "in use by another printlog (pid N)". Returns the release function. */
export async function lockDir(dir: string, logger?: Logger): Promise<() => Promise<void>> {
  const name = await lockName(dir);
  const server = createServer((sock) => sock.end(`${process.pid}\n`));
  try {
    await listen(server, name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EADDRINUSE") throw e;
    const pid = await holderPid(name);
    // This process holds it already (a test reopening after a simulated power cut): as before,
    // a lock of our own pid does not stop us; the first holder still releases it.
    if (pid === process.pid) return async () => undefined;
    throw new HistoryError("storage_failed", `the data directory ${dir} is in use by another printlog (pid ${pid ?? "unknown"})`, { dir });
  }
  server.unref();
  // For people and tools that look for it; the socket, not this file, is the lock.
  const pidFile = join(dir, "printlog.lock");
  await writeFile(pidFile, `${process.pid}\n`).catch((e: Error) => logger?.debug("lock.pid_file", { error: e.message }));
  return async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await unlink(pidFile).catch(() => undefined);
  };
}
