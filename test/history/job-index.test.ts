// The job index (a sorted run on disk merged with an in-memory overlay) and the index file's CRC:
// checked against a plain model under random inserts, replacements, removals, clears and
// re-basings onto new runs, over real files in a temporary directory.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { closeSync, openSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import fc from "fast-check";
import { crc32Table, RunWriter } from "../../src/history/job-files.js";
import { JobIndex, DELETED, type IndexEntry } from "../../src/history/job-index.js";
import { PAGE_ENTRIES, type IndexRun } from "../../src/history/index-run.js";
import { selectPositions } from "../../src/history/job-view.js";

test("the table CRC is zlib's CRC-32", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      assert.equal(crc32Table(bytes, 0, bytes.length), crc32(bytes));
    }),
  );
});

type Model = Map<number, IndexEntry>;

async function writeRun(dir: string, name: string, entries: IndexEntry[]): Promise<IndexRun> {
  const fd = openSync(join(dir, name), "w+");
  fds.push(fd);
  const w = new RunWriter(fd, 0, name);
  for (const e of entries) await w.add(e);
  await w.flush();
  return w.finish();
}
const fds: number[] = [];

function entry(num: number, stamp: number): IndexEntry {
  return { num, start: stamp, end: stamp % 3 === 0 ? null : stamp + 0.5, status: stamp % 8, off: stamp, len: num };
}

function check(index: JobIndex, model: Model, seed: number): void {
  const nums = [...model.keys()].sort((a, b) => a - b);
  assert.equal(index.count, nums.length, "count");
  for (let p = 0; p < nums.length; p++) {
    assert.equal(index.numAt(p), nums[p], `numAt(${p})`);
    assert.deepEqual(index.read(p), model.get(nums[p]!), `read(${p})`);
    assert.equal(index.find(nums[p]!), p, `find(${nums[p]})`);
  }
  for (const absent of [0, 100000, nums.length > 0 ? nums[0]! - 1 : 5]) if (!model.has(absent)) assert.equal(index.find(absent), -1);
  if (nums.length === 0) return;
  const from = seed % nums.length;
  const asc: number[] = [];
  index.forEach(from, false, (p, e) => {
    assert.deepEqual({ ...e }, model.get(nums[p]!), `forEach asc at ${p}`);
    asc.push(e.num);
    return true;
  });
  assert.deepEqual(asc, nums.slice(from), "ascending walk");
  const desc: number[] = [];
  index.forEach(from, true, (_p, e) => desc.push(e.num) > 0);
  assert.deepEqual(desc, nums.slice(0, from + 1).reverse(), "descending walk");
}

test("the merged index equals a plain model under inserts, replacements, removals, clears and new runs", async () => {
  const dir = await mkdtemp(join(tmpdir(), "printlog-index-"));
  try {
    let runNo = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: 3000 }), { maxLength: PAGE_ENTRIES * 3 }),
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant("put" as const), num: fc.integer({ min: 1, max: 3200 }) }),
            fc.record({ op: fc.constant("del" as const), num: fc.integer({ min: 1, max: 3200 }) }),
            fc.record({ op: fc.constant("fold" as const), num: fc.nat() }),
            fc.record({ op: fc.constant("clear" as const), num: fc.nat() }),
          ),
          { maxLength: 120 },
        ),
        fc.nat(),
        async (runNums, ops, seed) => {
          runNums.sort((a, b) => a - b);
          const model: Model = new Map();
          for (const n of runNums) model.set(n, entry(n, n * 7));
          const index = new JobIndex(await writeRun(dir, `run-${runNo++}`, runNums.map((n) => model.get(n)!)));
          let stamp = 1;
          for (const o of ops) {
            stamp += 1;
            if (o.op === "put") {
              const e = entry(o.num, stamp);
              index.upsert(e);
              model.set(o.num, e);
            } else if (o.op === "del") {
              index.remove([o.num]);
              model.delete(o.num);
            } else if (o.op === "clear") {
              if (o.num % 4 !== 0) continue; // rare
              index.clear();
              model.clear();
            } else {
              // A compaction: a new run of everything up to now, changes after it kept in the overlay.
              const upTo = index.changeVersion;
              const all = [...model.values()].sort((a, b) => a.num - b.num);
              const later = entry(o.num % 3300 + 1, stamp + 1000);
              index.upsert(later); // changed "during" the write
              const run = await writeRun(dir, `run-${runNo++}`, all);
              index.rebase(run, upTo, () => false);
              model.set(later.num, later);
            }
          }
          check(index, model, seed);
          // The selection scans agree with the model too.
          const asc = [...model.values()].sort((a, b) => a.num - b.num);
          const since = seed % 21000;
          const before = (seed * 7) % 21000;
          for (const q of [
            { limit: 5, start: 1, before: -1, since, order: "DESC" as const },
            { limit: 0, start: 0, before, since: -1, order: "ASC" as const },
            { limit: 50, start: 3, before, since, order: "ASC" as const },
            { limit: 0, start: 0, before: -1, since, order: "DESC" as const },
          ]) {
            const hit = asc.filter((e) => (q.since === -1 || e.start > q.since) && (q.before === -1 || (e.end !== null && e.end < q.before)));
            if (q.order === "DESC") hit.reverse();
            const want = (q.limit > 0 ? hit.slice(q.start, q.start + q.limit) : hit).map((e) => e.num);
            assert.deepEqual(selectPositions(index, q).map((p) => index.numAt(p)), want, JSON.stringify(q));
          }
        },
      ),
      { numRuns: 150 },
    );
  } finally {
    for (const fd of fds.splice(0)) closeSync(fd);
    await rm(dir, { recursive: true, force: true });
  }
});

test("list selection follows Moonraker: order, start, strict since/before, a running job never 'before'", () => {
  const index = new JobIndex();
  // [num, start, end|null]
  const jobs: [number, number, number | null][] = [[1, 10, 20], [2, 30, 40], [3, 50, null], [5, 70, 80], [6, 90, 100]];
  for (const [num, start, end] of jobs) index.upsert({ num, start, end, status: 1, off: 0, len: 0 });
  const nums = (q: Partial<Parameters<typeof selectPositions>[1]>) => selectPositions(index, { limit: 50, start: 0, before: -1, since: -1, order: "DESC", ...q }).map((p) => index.numAt(p));
  assert.deepEqual(nums({}), [6, 5, 3, 2, 1]);
  assert.deepEqual(nums({ order: "ASC", limit: 2, start: 1 }), [2, 3]);
  assert.deepEqual(nums({ limit: 0, start: 3 }), [6, 5, 3, 2, 1], "limit <= 0 is all, start ignored");
  assert.deepEqual(nums({ since: 30 }), [6, 5, 3], "since is strict");
  assert.deepEqual(nums({ before: 80 }), [2, 1], "before is strict and never matches a running job");
  assert.deepEqual(nums({ since: 10, before: 100, start: 1 }), [2], "filters first, then start skips");
  assert.equal(DELETED, 255);
});
