// Start-up with a job that was open, on a read-only data directory and on a full disk (a real
// tmpfs; needs root, as in CI): the history is served, the reason logged, and the job is marked
// interrupted on disk once writing is possible again.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { HistoryStore } from "../../src/history/store.js";
import { memoryLogger, silentLogger } from "../../src/log.js";
import { ROOT, tempDir } from "../helpers.js";

const mount = (args: string[]) => execFileSync("mount", args, { stdio: ["ignore", "ignore", "pipe"] });

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  for (let t = 0; t < ms && !cond(); t += 50) await new Promise((r) => setTimeout(r, 50));
  assert.ok(cond(), "condition reached in time");
}

/**
 * In another process (its files must be closed, as a power cut closes them): a finished job
 * (compacted) and an open one. With `pad`, the journal is filled to a page boundary so that the
 * next record needs a new page of the (then full) filesystem.
 */
function openJobLeft(dir: string, pad: boolean): void {
  const script = `
    import { HistoryStore } from ${JSON.stringify(join(ROOT, "dist", "src", "history", "store.js"))};
    import { journalLine } from ${JSON.stringify(join(ROOT, "dist", "src", "history", "journal.js"))};
    import { silentLogger } from ${JSON.stringify(join(ROOT, "dist", "src", "log.js"))};
    import { statSync } from "node:fs";
    const dir = ${JSON.stringify(dir)};
    const store = await HistoryStore.open(dir, { logger: silentLogger });
    const a = await store.startJob({ filename: "done.gcode", start_time: 1000, metadata: { size: 1 } });
    await store.finishJob(a.job_id, "completed", 1100, { total_duration: 100 }, "done");
    await store.durable.compactNow();
    const b = await store.startJob({ filename: "open.gcode", start_time: 2000 });
    await store.updateJob(b.job_id, 2060, { print_duration: 60, total_duration: 60 }, undefined, true);
    if (${pad}) {
      const size = statSync(dir + "/history.jsonl").size;
      const base = journalLine(store.durable.seq + 1, { op: "setting", key: "pad", value: "" }).length + 1;
      let want = 4096 - (size % 4096);
      if (want < base) want += 4096;
      await store.setSetting("pad", "x".repeat(want - base));
    }
    process.exit(0);
  `;
  execFileSync(process.execPath, ["--input-type=module", "-e", script], { stdio: "inherit" });
}

for (const how of ["read-only", "full"] as const) {
  test(`start-up on a ${how} data directory with an open job: served, logged, marked when writable`, { timeout: 60_000 }, async (t) => {
    const base = await tempDir();
    const mnt = join(base, "mnt");
    await mkdir(mnt);
    let mounted = false;
    try {
      mount(["-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt]);
      mounted = true;
    } catch {
      // not root
    }
    t.after(async () => {
      if (mounted) execFileSync("umount", ["-l", mnt]);
      await rm(base, { recursive: true, force: true });
    });
    if (!mounted) return t.skip("cannot mount a tmpfs here (needs root)");
    const dir = join(mnt, "data");
    openJobLeft(dir, how === "full");
    const filler = join(mnt, "filler");
    if (how === "read-only") mount(["-o", "remount,ro", mnt]);
    else {
      try {
        execFileSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=4k"], { stdio: "ignore" });
      } catch {
        // dd stops at ENOSPC
      }
    }
    const logger = memoryLogger();
    const store = await HistoryStore.open(dir, { logger, retryMs: 100 });
    assert.ok(logger.lines.some((l) => /store\.(unwritable|write_failed)/.test(l)), logger.lines.join("\n"));
    assert.deepEqual([...store.jobs].map((j) => [j.filename, j.status]), [["done.gcode", "completed"], ["open.gcode", "interrupted"]], "served, the open job interrupted in memory");
    assert.equal(store.durable.pendingCount, 1, "the interruption waits to be written");

    if (how === "read-only") mount(["-o", "remount,rw", mnt]);
    else await rm(filler);
    await waitFor(() => store.durable.pendingCount === 0);
    await store.close();
    const again = await HistoryStore.open(dir, { logger: silentLogger });
    assert.equal(again.getJob("000002")?.status, "interrupted", "marked on disk");
    assert.equal(again.getJob("000002")?.print_duration, 60);
    await again.close();
  });
}
