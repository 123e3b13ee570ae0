// Power loss, not only SIGKILL: every file created or renamed in the data directory is followed
// by an fsync of the directory before the next one, so no acknowledged write depends on a
// directory entry that was never synced. Observed with strace on the real store (skipped when
// strace is missing).

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ROOT, tempDir } from "../helpers.js";

test("every create and rename in the data directory is followed by a directory fsync", { timeout: 60_000 }, async (t) => {
  try {
    execFileSync("strace", ["-V"], { stdio: "ignore" });
  } catch {
    return t.skip("strace is not installed");
  }
  const dir = await tempDir(t);
  const data = join(dir, "data");
  const trace = join(dir, "trace");
  const script = `
    import { HistoryStore } from ${JSON.stringify(join(ROOT, "dist", "src", "history", "store.js"))};
    import { Database } from ${JSON.stringify(join(ROOT, "dist", "src", "database", "store.js"))};
    import { silentLogger } from ${JSON.stringify(join(ROOT, "dist", "src", "log.js"))};
    // One store at a time: the check follows one sequence of directory operations.
    const store = await HistoryStore.open(${JSON.stringify(data)}, { logger: silentLogger, minCompactBytes: 3000, indexOverlayMin: 8 });
    for (let i = 0; i < 20; i++) {
      const j = await store.startJob({ filename: "f" + i, start_time: i, metadata: { pad: "x".repeat(300) } });
      await store.finishJob(j.job_id, "completed", i + 1, {}, "done");
      if (i === 2) await store.deleteJob(j.job_id); // later jobs wait in memory: a new index generation
    }
    await store.deleteAll();
    await store.durable.compactNow(); // a new generation
    await store.close();
    const db = await Database.open(${JSON.stringify(data)}, { logger: silentLogger, minCompactBytes: 1000 });
    for (let i = 0; i < 20; i++) await db.post("notes", "k" + i, "y".repeat(200));
    await db.close();
  `;
  execFileSync("strace", ["-f", "-qq", "-e", "trace=openat,rename,renameat,renameat2,fsync,fdatasync,close", "-o", trace, process.execPath, "--input-type=module", "-e", script], { stdio: "ignore" });
  const lines = (await readFile(trace, "utf8")).split("\n");
  const dirFds = new Set<string>(); // descriptors of the data directory
  const events: string[] = [];
  // Entries created or renamed and not yet covered by a directory fsync; each must be covered
  // before the next rename (the commit point of a compaction), before the first sync of a file
  // created (the point its records are acknowledged), and before the process ends.
  let unsynced = [] as string[];
  const createdFds = new Map<string, string>();
  for (const line of lines) {
    const open = /openat\(AT_FDCWD, "([^"]+)", ([^)]*)\)\s+= (\d+)/.exec(line);
    if (open) {
      const [, path, flags, fd] = open;
      if (path === data && !flags!.includes("O_CREAT")) dirFds.add(fd!);
      else if (path!.startsWith(data + "/") && flags!.includes("O_CREAT") && !path!.endsWith("printlog.lock") && !path!.endsWith(".tmp")) {
        // (A temp file's own entry does not matter: it is renamed, and the rename is checked.)
        events.push(`create ${path}`);
        unsynced.push(`create ${path}`);
        createdFds.set(fd!, path!);
      }
      continue;
    }
    const ren = /rename(?:at2?)?\(.*"([^"]+)".*"([^"]+)"/.exec(line);
    if (ren && ren[2]!.startsWith(data + "/") && !line.includes("= -1")) {
      assert.equal(unsynced.join(", "), "", `not covered by a directory fsync before the rename to ${ren[2]}`);
      events.push(`rename ${ren[2]}`);
      unsynced.push(`rename ${ren[2]}`);
      continue;
    }
    const sync = /f(?:data)?sync\((\d+)\)\s+= 0/.exec(line);
    if (sync) {
      // fsync runs on a thread-pool thread: descriptors are matched across the process's threads.
      if (dirFds.has(sync[1]!)) unsynced = [];
      else if (createdFds.has(sync[1]!)) {
        const path = createdFds.get(sync[1]!)!;
        createdFds.delete(sync[1]!);
        if (path.endsWith(".jsonl") && !path.includes("history-jobs")) {
          assert.ok(!unsynced.includes(`create ${path}`), `${path} synced (records acknowledged) before its directory entry`);
        }
      }
      continue;
    }
    const cl = /close\((\d+)\)/.exec(line);
    if (cl) {
      dirFds.delete(cl[1]!);
      createdFds.delete(cl[1]!);
    }
  }
  assert.deepEqual(unsynced, [], "everything covered by a directory fsync before the end");
  for (const kind of ["history.jsonl", "history-jobs.1.jsonl", "history-index.2.bin", "history-index.1.1.bin", "database.jsonl", "rename " + join(data, "history.json"), "rename " + join(data, "database.json")]) {
    assert.ok(events.some((e) => e.includes(kind)), `${kind} seen among ${events.length} events`);
  }
});
