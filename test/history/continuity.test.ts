// Whether a journal follows its document: a table of the cases start-up must tell apart.

import { test } from "node:test";
import assert from "node:assert/strict";
import { checkContinuity } from "../../src/history/continuity.js";

const files = { journal: "history.jsonl", document: "history.json" };

test("journal continuity, case by case", () => {
  const rows: [string, { seq: number; prevSeq: number }, { after: number | null; first: number | null }, string | null][] = [
    ["normal: follows the document, next record first", { seq: 10, prevSeq: 4 }, { after: 10, first: 11 }, null],
    ["normal: empty journal after a compaction", { seq: 10, prevSeq: 4 }, { after: 10, first: null }, null],
    ["compaction stopped after the rename: records already folded", { seq: 10, prevSeq: 4 }, { after: 4, first: 5 }, null],
    ["a new directory", { seq: 0, prevSeq: 0 }, { after: 0, first: 1 }, null],
    ["journal follows a newer document (old document restored)", { seq: 10, prevSeq: 4 }, { after: 15, first: 16 }, "journal.gap"],
    ["journal older than the document's last compaction", { seq: 10, prevSeq: 6 }, { after: 2, first: 3 }, "journal.stale"],
    ["records missing at the journal's start", { seq: 10, prevSeq: 4 }, { after: 10, first: 14 }, "journal.gap"],
    ["no header, records missing", { seq: 10, prevSeq: 4 }, { after: null, first: 13 }, "journal.gap"],
  ];
  for (const [name, doc, journal, event] of rows) {
    const got = checkContinuity(files, doc, journal);
    assert.equal(got?.event ?? null, event, name);
    if (got) assert.match(got.message, /history\.jsonl/, name);
  }
  assert.match(checkContinuity(files, { seq: 10, prevSeq: 4 }, { after: 10, first: 14 })!.message, /records 11\.\.13 are missing/);
});
