// One writer per data directory: two processes appending to one journal would interleave
// records. The lock is a file holding the owner's pid; a lock whose process is gone is stale.

import { open, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { HistoryError } from "./errors.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function lockDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, "printlog.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const h = await open(path, "wx", 0o644);
      await h.writeFile(`${process.pid}\n`);
      await h.close();
      return async () => {
        await unlink(path).catch(() => undefined);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number((await readFile(path, "utf8").catch(() => "")).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new HistoryError("storage_failed", `the data directory ${dir} is in use by another printlog (pid ${pid})`, { file: path });
      }
      await unlink(path).catch(() => undefined); // stale: its process is gone
    }
  }
  throw new HistoryError("storage_failed", `cannot lock the data directory ${dir}`, { file: path });
}
