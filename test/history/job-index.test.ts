// The in-memory index and the index file's CRC: pure pieces, tested directly.

import { test } from "node:test";
import assert from "node:assert/strict";
import { crc32 } from "node:zlib";
import fc from "fast-check";
import { crc32Table } from "../../src/history/job-files.js";
import { JobIndex } from "../../src/history/job-index.js";
import { selectPositions } from "../../src/history/job-view.js";

test("the table CRC is zlib's CRC-32", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      assert.equal(crc32Table(bytes, 0, bytes.length), crc32(bytes));
    }),
  );
});

test("the index stays sorted and unique under inserts, replacements, removals and loads", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.record({ op: fc.constant("put" as const), num: fc.integer({ min: 1, max: 300 }) }), fc.record({ op: fc.constant("del" as const), num: fc.integer({ min: 1, max: 300 }) })), { maxLength: 400 }),
      (ops) => {
        const index = new JobIndex(4);
        const model = new Map<number, number>();
        let stamp = 0;
        for (const o of ops) {
          stamp += 1;
          if (o.op === "put") {
            if (stamp % 2 === 0) index.upsert({ num: o.num, start: stamp, end: null, status: 1, off: stamp, len: 1 });
            else index.put(o.num, stamp, Number.NaN, 1, stamp, 1);
            model.set(o.num, stamp);
          } else {
            index.remove(new Set([o.num]));
            model.delete(o.num);
          }
        }
        const nums = [...model.keys()].sort((a, b) => a - b);
        assert.deepEqual(Array.from(index.nums.subarray(0, index.count)), nums);
        for (const n of nums) assert.equal(index.start[index.find(n)], model.get(n));
        assert.equal(index.find(1000), -1);
        for (let p = 0; p < index.count; p++) assert.equal(index.endAt(p), null);
      },
    ),
  );
});

test("list selection follows Moonraker: order, start, strict since/before, a running job never 'before'", () => {
  const index = new JobIndex();
  // [num, start, end|null]
  const jobs: [number, number, number | null][] = [[1, 10, 20], [2, 30, 40], [3, 50, null], [5, 70, 80], [6, 90, 100]];
  for (const [num, start, end] of jobs) index.upsert({ num, start, end, status: 1, off: 0, len: 0 });
  const nums = (q: Partial<Parameters<typeof selectPositions>[1]>) => selectPositions(index, { limit: 50, start: 0, before: -1, since: -1, order: "DESC", ...q }).map((p) => index.nums[p]);
  assert.deepEqual(nums({}), [6, 5, 3, 2, 1]);
  assert.deepEqual(nums({ order: "ASC", limit: 2, start: 1 }), [2, 3]);
  assert.deepEqual(nums({ limit: 0, start: 3 }), [6, 5, 3, 2, 1], "limit <= 0 is all, start ignored");
  assert.deepEqual(nums({ since: 30 }), [6, 5, 3], "since is strict");
  assert.deepEqual(nums({ before: 80 }), [2, 1], "before is strict and never matches a running job");
  assert.deepEqual(nums({ since: 10, before: 100, start: 1 }), [2], "filters first, then start skips");
});
