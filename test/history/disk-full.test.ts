// A real full disk: a 256 KiB tmpfs (needs root, as in CI). Writes fail with ENOSPC, the store
// keeps serving and keeps the changes, and they reach the disk once space returns.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { HistoryStore } from "../../src/history/store.js";
import { memoryLogger, silentLogger } from "../../src/log.js";
import { tempDir } from "../helpers.js";

function tryMount(dir: string): boolean {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", dir], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

async function fill(path: string): Promise<void> {
  const h = await open(path, "w");
  const chunk = Buffer.alloc(4096, 120);
  try {
    for (;;) await h.write(chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
  } finally {
    await h.close();
  }
}

test("disk full: a clear error, nothing lost, recording resumes when space returns", async (t) => {
  const base = await tempDir();
  const mnt = join(base, "mnt");
  await mkdir(mnt);
  const mounted = tryMount(mnt);
  t.after(async () => {
    if (mounted) execFileSync("umount", [mnt]);
    await rm(base, { recursive: true, force: true });
  });
  if (!mounted) {
    t.skip("cannot mount a tmpfs here (needs root)");
    return;
  }
  const dir = join(mnt, "data");
  const logger = memoryLogger();
  const store = await HistoryStore.open(dir, { logger, retryMs: 50 });
  const first = await store.startJob({ filename: "before.gcode", start_time: 1 });
  await store.finishJob(first.job_id, "completed", 2, { total_duration: 1 }, "done");

  await fill(join(mnt, "filler"));
  const big = { notes: "x".repeat(8000) };
  await assert.rejects(
    store.startJob({ filename: "during.gcode", start_time: 3, metadata: big }),
    (e: Error) => /no space left on device/i.test(e.message) && /kept in memory and retried/.test(e.message),
  );
  assert.ok(logger.lines.some((l) => l.includes("store.write_failed")), "the failure is logged");
  assert.deepEqual(store.jobs.map((j) => j.filename), ["before.gcode", "during.gcode"], "served from memory");

  await rm(join(mnt, "filler"));
  for (let i = 0; i < 100 && store.durable.pendingCount > 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(store.durable.pendingCount, 0, "pending records were written once space returned");
  assert.ok(logger.lines.some((l) => l.includes("store.write_recovered")));
  await store.close();

  const again = await HistoryStore.open(dir, { logger: silentLogger });
  assert.deepEqual(again.jobs.map((j) => j.filename), ["before.gcode", "during.gcode"]);
  assert.equal(again.getJob(first.job_id)?.status, "completed");
  await again.close();
  // No torn line was left in the middle of the journal.
  const text = await readFile(join(dir, "history.jsonl"), "utf8");
  for (const line of text.split("\n").filter(Boolean)) JSON.parse(line);
});
