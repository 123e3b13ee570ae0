import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseJournal } from "../../src/history/journal.js";
import { HistoryStore } from "../../src/history/store.js";
import { HistoryError } from "../../src/history/errors.js";
import { memoryLogger } from "../../src/log.js";
import { tempDir } from "../helpers.js";

const line = (seq: number, rec: object = { op: "setting", key: "k", value: seq }) => JSON.stringify({ v: 1, seq, rec });

test("parseJournal keeps every whole record", () => {
  const text = `${line(1)}\n${line(2)}\n`;
  const r = parseJournal(text, "j");
  assert.deepEqual(r.entries.map((e) => e.seq), [1, 2]);
  assert.equal(r.tornTail, null);
  assert.equal(r.validBytes, Buffer.byteLength(text));
});

test("parseJournal drops a torn final line (no newline) and reports where the valid part ends", () => {
  const good = `${line(1)}\n${line(2)}\n`;
  const r = parseJournal(good + line(3).slice(0, 17), "j");
  assert.deepEqual(r.entries.map((e) => e.seq), [1, 2]);
  assert.equal(r.validBytes, Buffer.byteLength(good));
  assert.ok(r.tornTail?.startsWith('{"v":1'));
});

test("parseJournal treats a final line of zero-filled blocks as torn", () => {
  const good = `${line(1)}\n`;
  const r = parseJournal(good + "\0\0\0\0\0\0", "j");
  assert.equal(r.entries.length, 1);
  assert.equal(r.validBytes, Buffer.byteLength(good));
});

test("parseJournal refuses a corrupt line in the middle, naming file and line", () => {
  const text = `${line(1)}\n{"v":1,"seq":2,"rec":{"op"\n${line(3)}\n`;
  assert.throws(
    () => parseJournal(text, "/data/history.jsonl"),
    (e: unknown) => e instanceof HistoryError && e.code === "journal_corrupt" && /history\.jsonl:2 \(byte \d+\):/.test(e.message),
  );
});

test("parseJournal refuses sequence numbers that go backwards", () => {
  const text = `${line(5)}\n${line(4)}\n`;
  assert.throws(() => parseJournal(text, "j"), /j:2 \(byte \d+\): sequence 4 does not follow 5/);
});

test("a store with a torn journal tail opens, logs it, and cuts the tail so later appends are clean", async (t) => {
  const dir = await tempDir(t);
  const logger = memoryLogger();
  const store = await HistoryStore.open(dir, { logger });
  const job = await store.startJob({ filename: "a.gcode", start_time: 100 });
  await store.finishJob(job.job_id, "completed", 200, { total_duration: 100, print_duration: 90 }, "done");
  await store.close();
  const path = join(dir, "history.jsonl");
  const whole = await readFile(path, "utf8");
  await writeFile(path, whole + '{"v":1,"seq":99,"rec":{"op":"sta');

  const log2 = memoryLogger();
  const reopened = await HistoryStore.open(dir, { logger: log2 });
  assert.ok(log2.lines.some((l) => l.includes("journal.torn_tail")), "torn tail is logged");
  assert.equal(reopened.getJob(job.job_id)?.status, "completed");
  await reopened.startJob({ filename: "b.gcode", start_time: 300 });
  await reopened.close();
  assert.equal((await readFile(path, "utf8")).includes("sta\n"), false, "torn bytes are gone");
  const third = await HistoryStore.open(dir, { logger: memoryLogger() });
  assert.equal(third.jobs.length, 2);
  await third.close();
});

test("a store whose journal is corrupt in the middle refuses to start and names the line", async (t) => {
  const dir = await tempDir(t);
  const store = await HistoryStore.open(dir, { logger: memoryLogger() });
  for (let i = 0; i < 3; i++) await store.startJob({ filename: `f${i}.gcode`, start_time: i });
  await store.close();
  const path = join(dir, "history.jsonl");
  const lines = (await readFile(path, "utf8")).split("\n");
  lines[1] = "garbage that is not json";
  await writeFile(path, lines.join("\n"));
  await assert.rejects(HistoryStore.open(dir, { logger: memoryLogger() }), (e: unknown) => {
    assert.ok(e instanceof HistoryError);
    assert.equal(e.code, "journal_corrupt");
    assert.match(e.message, /history\.jsonl:2 \(byte \d+\): corrupt journal record/);
    return true;
  });
  // Nothing was thrown away: the file is untouched.
  assert.equal((await readFile(path, "utf8")).split("\n")[1], "garbage that is not json");
});
