// The data-directory lock with real processes: a stale pid file (its pid alive, as after a power
// cut and reboot) does not block start-up; a second printlog is refused naming the first's pid;
// after a SIGKILL the kernel has freed the lock. The read-only commands, backup and import work
// beside a running serve (import, which writes, is refused while it runs).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HistoryStore } from "../../src/history/store.js";
import { Database } from "../../src/database/store.js";
import { silentLogger } from "../../src/log.js";
import { CLI, http, jsonBody, startCli, tempDir } from "../helpers.js";

function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("exit", (status) => resolve({ status, stdout, stderr }));
  });
}

const serveArgs = (dir: string) => ["serve", "--device", "none", "--host", "127.0.0.1", "--http-port", "0", "--data-dir", dir];

async function seed(dir: string, n: number): Promise<void> {
  const store = await HistoryStore.open(dir, { logger: silentLogger, minCompactBytes: 3000 });
  for (let i = 0; i < n; i++) {
    const j = await store.startJob({ filename: `f${i}.gcode`, start_time: 1_700_000_000 + i * 100, metadata: { size: i } });
    await store.finishJob(j.job_id, i % 3 === 0 ? "cancelled" : "completed", 1_700_000_050 + i * 100, { total_duration: 50, print_duration: 40, filament_used: 3 }, "done");
  }
  await store.close();
}

test("the lock: a stale pid file is ignored, a second printlog is refused with the first's pid, SIGKILL frees it", { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  await seed(dir, 3);
  // A pid file naming a live process that is not printlog (pid reuse after a reboot).
  const other = spawn("sleep", ["60"]);
  t.after(() => other.kill());
  await writeFile(join(dir, "printlog.lock"), `${other.pid}\n`);
  const first = await startCli(serveArgs(dir));
  t.after(() => first.stop("SIGKILL"));
  assert.equal((await http(`${first.url}/server/history/list`)).body.result.count, 3);

  const second = await run(serveArgs(dir));
  assert.equal(second.status, 1);
  assert.match(second.stderr, new RegExp(`in use by another printlog \\(pid ${first.proc.pid}\\)`));

  // Read-only commands work beside it.
  const list = await run(["list", "--data-dir", dir, "--json"]);
  assert.equal(list.status, 0, list.stderr);
  assert.equal(JSON.parse(list.stdout).count, 3);
  assert.equal((await run(["totals", "--data-dir", dir])).status, 0);
  const exp = await run(["export", "--data-dir", dir, "--format", "json"]);
  assert.equal(exp.status, 0, exp.stderr);
  assert.equal(JSON.parse(exp.stdout).length, 3);
  const imp = await run(["import", join(dir, "nothing.json"), "--data-dir", dir]);
  assert.equal(imp.status, 1);
  assert.match(imp.stderr, /in use by another printlog/);

  await first.stop("SIGKILL");
  const third = await startCli(serveArgs(dir));
  t.after(() => third.stop("SIGKILL"));
  assert.equal((await http(`${third.url}/server/history/list`)).body.result.count, 3, "started after a SIGKILL");
});

test("backup while serving and compacting gives a consistent copy that printlog serves", { timeout: 90_000 }, async (t) => {
  const dir = await tempDir(t);
  await seed(dir, 40);
  const pl = await startCli(serveArgs(dir));
  t.after(() => pl.stop("SIGKILL"));
  // Keep the live database compacting (notes are what clients write) while backups are taken.
  let writing = true;
  let notes = 0;
  const writer = (async () => {
    while (writing) {
      const r = await http(`${pl.url}/server/database/item`, jsonBody({ namespace: "history_notes", key: `n${notes % 20}`, value: "x".repeat(100_000) + notes }));
      assert.equal(r.status, 200);
      notes += 1;
    }
  })();
  for (let i = 0; i < 3; i++) {
    const dest = join(dir, `backup${i}`);
    const r = await run(["backup", dest, "--data-dir", dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /backed up 40 jobs \(totals: 40 finished\)/);
  }
  writing = false;
  await writer;
  assert.ok(notes > 20, `the database was written to meanwhile (${notes} notes, a compaction every ~10)`);
  await pl.stop("SIGTERM");

  // The backup is a data directory: printlog serves it as it was.
  const dest = join(dir, "backup2");
  const store = await HistoryStore.open(dest, { logger: silentLogger });
  assert.equal(store.count, 40);
  assert.equal(store.totals().job_totals.total_jobs, 40);
  assert.equal(store.getJob("000028")?.filename, "f39.gcode");
  await store.close();
  const db = await Database.open(dest, { logger: silentLogger });
  assert.ok(db.namespaces().includes("history_notes"));
  await db.close();
  const refused = await run(["backup", dest, "--data-dir", dir]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /not empty/);
});

test("import restores an export with ids and totals, and refuses duplicates importing nothing", { timeout: 60_000 }, async (t) => {
  const src = await tempDir(t);
  await seed(src, 12);
  const s = await HistoryStore.open(src, { logger: silentLogger });
  await s.deleteJob("000002");
  await s.close();
  const file = join(src, "export.json");
  const exp = await run(["export", "--data-dir", src, "--format", "json", "--output", file]);
  assert.equal(exp.status, 0, exp.stderr);

  const dest = await tempDir(t);
  const r = await run(["import", file, "--data-dir", dest]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /imported 11 jobs/);
  const got = await run(["export", "--data-dir", dest, "--format", "json"]);
  assert.deepEqual(JSON.parse(got.stdout), JSON.parse(await readFile(file, "utf8")), "the same jobs, ids kept");
  const store = await HistoryStore.open(dest, { logger: silentLogger });
  const totals = store.totals().job_totals;
  assert.equal(totals.total_jobs, 11);
  assert.equal(totals.total_filament_used, 33);
  assert.equal((await store.startJob({ filename: "n", start_time: 1 })).job_id, "00000D", "new ids follow the imported ones");
  await store.close();

  const again = await run(["import", file, "--data-dir", dest]);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /11 job id\(s\) .* are already in the history .*nothing imported/);
  const bad = join(src, "bad.json");
  await writeFile(bad, '[\n{"job_id":"zz"}\n]\n');
  const b = await run(["import", bad, "--data-dir", await tempDir(t)]);
  assert.equal(b.status, 2);
  assert.match(b.stderr, /bad\.json:2: missing/);
});
