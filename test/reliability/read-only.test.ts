// A data directory that becomes read-only, or is read-only at start (a real read-only tmpfs,
// needs root as in CI): a clear error, the API keeps serving what it has, nothing recorded is
// lost, and writing resumes when the directory is writable again.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { HistoryStore } from "../../src/history/store.js";
import { silentLogger } from "../../src/log.js";
import { http, jsonBody, sleep, startCli, tempDir } from "../helpers.js";

const mount = (args: string[]) => execFileSync("mount", args, { stdio: ["ignore", "ignore", "pipe"] });

test("read-only data directory at start and while running", { timeout: 90_000 }, async (t) => {
  const base = await tempDir();
  const mnt = join(base, "mnt");
  await mkdir(mnt);
  let mounted = false;
  try {
    mount(["-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt]);
    mounted = true;
  } catch {
    // not root
  }
  t.after(async () => {
    if (mounted) execFileSync("umount", ["-l", mnt]);
    await rm(base, { recursive: true, force: true });
  });
  if (!mounted) return t.skip("cannot mount a tmpfs here (needs root)");
  const data = join(mnt, "data");
  const store = await HistoryStore.open(data, { logger: silentLogger });
  const j = await store.startJob({ filename: "before.gcode", start_time: 1000 });
  await store.finishJob(j.job_id, "completed", 1100, { total_duration: 100 }, "done");
  await store.close();

  // Read-only at start: printlog starts, says so, and serves the history it has.
  mount(["-o", "remount,ro", mnt]);
  let pl = await startCli(["serve", "--device", "none", "--host", "127.0.0.1", "--http-port", "0", "--data-dir", data]);
  t.after(() => pl.stop("SIGKILL"));
  await pl.waitFor(/store\.unwritable/);
  const list = await http(`${pl.url}/server/history/list`);
  assert.equal(list.status, 200);
  assert.equal(list.body.result.jobs[0].filename, "before.gcode");
  const post = await http(`${pl.url}/server/database/item`, jsonBody({ namespace: "history_notes", key: "000001", value: "kept" }));
  assert.equal(post.status, 503, JSON.stringify(post.body));
  assert.match(post.body.error.message, /read-only file system|EROFS/i);
  assert.equal((await http(`${pl.url}/server/database/item?namespace=history_notes&key=000001`)).body.result.value, "kept", "served from memory");

  // Writable again: the pending note reaches the disk.
  mount(["-o", "remount,rw", mnt]);
  await pl.waitFor(/store\.write_recovered/, 15_000);
  await pl.stop("SIGTERM");

  // A full disk while running (the kernel refuses to remount read-only under open files, and
  // both failures take the same path): a clear error, served from memory, written once space returns.
  pl = await startCli(["serve", "--device", "none", "--host", "127.0.0.1", "--http-port", "0", "--data-dir", data]);
  assert.equal((await http(`${pl.url}/server/database/item?namespace=history_notes&key=000001`)).body.result.value, "kept");
  const filler = join(mnt, "filler");
  try {
    execFileSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=64k"], { stdio: "ignore" });
  } catch {
    // dd stops at ENOSPC
  }
  const big = "n".repeat(200_000);
  const note = await http(`${pl.url}/server/database/item`, jsonBody({ namespace: "history_notes", key: "000002", value: big }));
  assert.equal(note.status, 503, JSON.stringify(note.body).slice(0, 200));
  assert.match(note.body.error.message, /no space left/i);
  assert.equal((await http(`${pl.url}/server/database/item?namespace=history_notes&key=000002`)).body.result.value.length, 200_000);
  assert.equal((await http(`${pl.url}/server/history/list`)).status, 200);
  await rm(filler);
  await pl.waitFor(/store\.write_recovered/, 15_000);
  await pl.stop("SIGKILL");
  await sleep(100);
  pl = await startCli(["serve", "--device", "none", "--host", "127.0.0.1", "--http-port", "0", "--data-dir", data]);
  assert.equal((await http(`${pl.url}/server/database/item?namespace=history_notes&key=000002`)).body.result.value.length, 200_000, "survived a SIGKILL after recovery");
  assert.equal((await http(`${pl.url}/server/history/list`)).body.result.jobs[0].filename, "before.gcode");
});
