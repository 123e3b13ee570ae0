// The active Spoolman spool survives a restart and seeds the next job's spool_ids.

import { test } from "node:test";
import assert from "node:assert/strict";
import { HistoryStore } from "../../src/history/store.js";
import { AuxService } from "../../src/aux/service.js";
import { silentLogger } from "../../src/log.js";
import { tempDir } from "../helpers.js";

const setup = { sensors: [], rules: [], warnings: [] };

test("the active spool survives a restart and starts the next job's spool_ids; clearing it empties them", async (t) => {
  const dir = await tempDir(t);
  let store = await HistoryStore.open(dir, { logger: silentLogger });
  let aux = new AuxService(setup, store, silentLogger);
  await aux.setActiveSpool(42, 100);
  await store.close();

  store = await HistoryStore.open(dir, { logger: silentLogger });
  aux = new AuxService(setup, store, silentLogger);
  assert.equal(aux.activeSpool, 42);
  const job = await store.startJob({ filename: "a.gcode", start_time: 200 });
  await aux.setActiveSpool(43, 210);
  const spools = store.getJob(job.job_id)!.auxiliary_data.find((a) => a.name === "spool_ids");
  assert.deepEqual(spools?.value, [42, 43]);
  await store.finishJob(job.job_id, "completed", 300, {}, "done");
  await aux.setActiveSpool(null, 310);
  const next = await store.startJob({ filename: "b.gcode", start_time: 400 });
  assert.deepEqual(store.getJob(next.job_id)!.auxiliary_data.find((a) => a.name === "spool_ids")?.value, []);
  await store.close();
});
