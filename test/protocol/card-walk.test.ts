// RRF's card walked folder by folder (`M20 S3 P"0:/gcodes/sub"`, breadth-first, capped), names
// quoted as RRF reads them, and a job whose file the card had not dated yet getting its date
// from a later listing (RRF: its folder at once; Marlin 2 / Prusa: the next idle moment).

import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRrfFileList, relativeFolder, rrfListCommand } from "../../src/protocol/rrf-file-list.js";
import { parseLine } from "../../src/protocol/parse.js";
import type { PrinterEvent } from "../../src/protocol/events.js";
import { reduce } from "../../src/job/reducer.js";
import { MAX_FOLDER_DEPTH, MAX_FOLDERS, MAX_LIST_PAGES } from "../../src/job/card-files.js";
import { UNDATED_KEEP_S } from "../../src/job/file-date.js";
import type { Effect, RecorderState } from "../../src/job/types.js";
import { DATE_RELIST_SECONDS, dueCommands, newPollMemory } from "../../src/serial/poll-plan.js";
import { SAFE_COMMAND } from "../../src/serial/link.js";
import { rrfUnquote } from "../../scripts/virtual-printer-text.js";
import { feed, stateOf } from "./reduce-steps.js";

const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
const queries = (effects: Effect[]) => effects.flatMap((e) => (e.kind === "query" ? [e.command] : []));

const rrf = () => stateOf("rrf");

const page = (dir: string, files: string[], folders: string[] = [], first = 0): PrinterEvent => ({
  type: "file_list_json",
  dir,
  first,
  files: files.map((name) => ({ name, size: 100, modified: utc(2025, 2, 3, 4, 5, 6) })),
  folders,
  resume: null,
  cut: false,
});

// ---- quoting and folders (GCodes2.cpp case 20, StringParser::InternalGetQuotedString) ----

const QUOTE_ROWS: [string, string, number, string | null][] = [
  ["the top folder", "", 0, "M20 S3"],
  ["the top folder, a later page", "", 12, "M20 S3 R12"],
  ["a subfolder", "sub", 0, 'M20 S3 P"0:/gcodes/sub"'],
  ["a nested one, later page", "sub/deeper", 3, 'M20 S3 P"0:/gcodes/sub/deeper" R3'],
  ['a `"` is doubled', 'say "hi"', 0, 'M20 S3 P"0:/gcodes/say ""hi"""'],
  ["a `'` is doubled (before a letter RRF would lower-case it)", "Bob's Parts", 0, `M20 S3 P"0:/gcodes/Bob''s Parts"`],
  ["a `;` inside quotes is no comment", "a;b", 0, 'M20 S3 P"0:/gcodes/a;b"'],
  ["not printable ASCII: not sent", "café", 0, null],
  ["a control character: not sent", "a\tb", 0, null],
  ["too long for one command", "x".repeat(120), 0, null],
];

for (const [what, folder, from, expected] of QUOTE_ROWS) {
  test(`rrfListCommand: ${what}`, () => {
    const cmd = rrfListCommand(folder, from);
    assert.equal(cmd, expected);
    if (cmd === null) return;
    assert.ok(SAFE_COMMAND.test(cmd), "the link sends it");
    const p = /P("(?:[^"]|"")*")/.exec(cmd)?.[1];
    // RRF reads back exactly the folder (the virtual printer follows StringParser).
    if (folder !== "") assert.equal(rrfUnquote(p!), `0:/gcodes/${folder}`);
  });
}

test("relativeFolder: below 0:/gcodes only, no empty, `.` or `..` segments", () => {
  assert.equal(relativeFolder("0:/gcodes/"), "");
  assert.equal(relativeFolder("0:/gcodes"), "");
  assert.equal(relativeFolder("0:/GCodes/Sub/"), "Sub");
  assert.equal(relativeFolder("0:/gcodes/a/b"), "a/b");
  assert.equal(relativeFolder("0:/macros/"), null);
  assert.equal(relativeFolder("0:/gcodesX/a"), null);
  assert.equal(relativeFolder("0:/gcodes/../sys"), null);
  assert.equal(relativeFolder("0:/gcodes//a"), null);
});

test("RRF M20 S3 of a subfolder: `dir` echoes P (JSON-escaped), folders listed apart, hostile names dropped", () => {
  const line = '{"dir":"0:/gcodes/say \\"hi\\"","first":0,"files":[{"type":"d","name":"deeper","size":0,"date":"2025-01-01T00:00:00"},{"type":"d","name":"..","size":0},{"type":"d","name":"a/b","size":0},{"type":"f","name":"x.gcode","size":5,"date":"2024-05-01T10:20:30"}],"next":0}';
  const ev = parseRrfFileList(line) as any;
  assert.equal(ev.dir, 'say "hi"');
  assert.deepEqual(ev.folders, ["deeper"]);
  assert.deepEqual(ev.files, [{ name: "x.gcode", size: 5, modified: utc(2024, 5, 1, 10, 20, 30) }]);
  assert.equal((parseRrfFileList('{"dir":"0:/sys/","first":0,"files":[],"next":0}') as any).dir, null);
});

// ---- the walk ----

test("RRF: folders are listed breadth-first after the top one; files keyed by their path", () => {
  const s = rrf();
  assert.deepEqual(queries(feed(s, [page("", ["top.gcode"], ["a", "b"])])), ['M20 S3 P"0:/gcodes/a"']);
  assert.deepEqual(queries(feed(s, [page("a", ["x.gcode"], ["c"])])), ['M20 S3 P"0:/gcodes/b"']);
  assert.deepEqual(queries(feed(s, [page("b", ["y.gcode"])])), ['M20 S3 P"0:/gcodes/a/c"']);
  assert.deepEqual(queries(feed(s, [page("a/c", ["z.gcode"])])), [], "the walk is over");
  assert.deepEqual(Object.keys(s.files).sort(), ["a/c/z.gcode", "a/x.gcode", "b/y.gcode", "top.gcode"]);
  assert.equal(s.files["a/c/z.gcode"]!.long, "a/c/z.gcode", "named as the job is (M409's path below 0:/gcodes)");
});

test("RRF: a subfolder's later pages are asked for with its P", () => {
  const s = rrf();
  feed(s, [page("", [], ["sub"])]);
  const cut: PrinterEvent = { ...page("sub", ["a.gcode", "b.gcode"]), resume: 2, cut: true } as PrinterEvent;
  assert.deepEqual(queries(feed(s, [cut])), ['M20 S3 P"0:/gcodes/sub" R2']);
});

test(`RRF: at most ${MAX_FOLDERS} folders per walk, none deeper than ${MAX_FOLDER_DEPTH}`, () => {
  const s = rrf();
  const many = Array.from({ length: 500 }, (_, i) => `f${i}`);
  const sent: string[] = queries(feed(s, [page("", [], many)]));
  for (let i = 0; i < 600 && sent.length > 0; i++) {
    const folder = /P"0:\/gcodes\/([^"]*)"/.exec(sent[sent.length - 1]!)![1]!;
    const more = queries(feed(s, [page(folder, [], many)]));
    if (more.length === 0) break;
    sent.push(...more);
  }
  assert.equal(sent.length, MAX_FOLDERS - 1, "the top folder and MAX_FOLDERS - 1 others");
  const deep = rrf();
  let folder = "";
  const asked: string[] = [];
  for (let i = 0; i < 10; i++) {
    const q = queries(feed(deep, [page(folder, [], ["d"])]));
    if (q.length === 0) break;
    asked.push(...q);
    folder = folder === "" ? "d" : folder + "/d";
  }
  assert.equal(asked.length, MAX_FOLDER_DEPTH);
});

test("RRF hostile: a firmware answering every `R` from the start cannot keep the listing going", () => {
  const s = rrf();
  const first = { ...page("", ["a.gcode", "b.gcode"]), resume: 2, cut: true } as PrinterEvent;
  let asked = 0;
  for (let i = 0; i < 1000; i++) {
    const q = queries(feed(s, [first], 1000 + i));
    if (q.length === 0) break;
    asked += q.length;
  }
  assert.equal(asked, MAX_LIST_PAGES - 1);
  // A real new listing later starts the count again.
  assert.equal(queries(feed(s, [first], 1000 + 1000 + 61)).length, 1);
});

test("RRF: the walk pauses while a job prints; a folder outside 0:/gcodes is ignored", () => {
  const s = rrf();
  feed(s, [{ type: "sd_progress", pos: 100, size: 5000 }, { type: "sd_progress", pos: 400, size: 5000 }]);
  assert.ok(s.job);
  assert.deepEqual(queries(feed(s, [page("", [], ["a"])])), []);
  const t = rrf();
  feed(t, [{ ...page("", ["x.gcode"]), dir: null } as PrinterEvent]);
  assert.deepEqual(t.files, {});
});

// ---- a job named before its date is known ----

function rrfPrinting(): RecorderState {
  const s = rrf();
  feed(s, [page("", ["old.gcode"], ["sub"]), page("sub", ["known.gcode"])]);
  feed(s, [{ type: "sd_progress", pos: 100, size: 5000 }, { type: "sd_progress", pos: 400, size: 5000 }], 2000);
  assert.ok(s.job);
  return s;
}

test("RRF: a job on a file newer than the listing has its folder listed at once (M20 during a print) and is dated from it", () => {
  const s = rrfPrinting();
  const named = feed(s, [parseLine('{"key":"job.file.fileName","flags":"","result":"0:/gcodes/sub/new part.gcode"}')], 2010);
  const rename = named.find((e) => e.kind === "update");
  assert.ok(rename && rename.kind === "update" && rename.fields.filename === "sub/new part.gcode");
  assert.equal(rename.fields.metadata, undefined, "no date yet");
  assert.deepEqual(queries(named), ['M20 S3 P"0:/gcodes/sub"']);
  // A later page of that folder is asked for although a job prints; the date then comes.
  const cut = { ...page("sub", ["known.gcode"]), resume: 1, cut: true } as PrinterEvent;
  assert.deepEqual(queries(feed(s, [cut], 2011)), ['M20 S3 P"0:/gcodes/sub" R1']);
  const effects = feed(s, [{ type: "ok" }, page("sub", ["new part.gcode"], [], 1)], 2012);
  assert.deepEqual(effects.filter((e) => e.kind === "file_date"), [{ kind: "file_date", time: 2013, modified: utc(2025, 2, 3, 4, 5, 6) }]);
  assert.equal(s.undated, null);
});

test("RRF: a job on a listed file in a subfolder is dated in its rename; no listing is asked for", () => {
  const s = rrfPrinting();
  const named = feed(s, [parseLine('{"key":"job.file.fileName","flags":"","result":"0:/gcodes/sub/known.gcode"}')], 2010);
  const rename = named.find((e) => e.kind === "update");
  assert.ok(rename && rename.kind === "update");
  assert.deepEqual(rename.fields.metadata, { modified: utc(2025, 2, 3, 4, 5, 6) });
  assert.deepEqual(queries(named).filter((q) => q.startsWith("M20")), []);
});

const SETTINGS = { idleSeconds: 10, printingSeconds: 2, positionSeconds: 5, statsSeconds: 30 };

function marlinJob(listing: string[], opened: string): { s: RecorderState; effects: Effect[] } {
  const s = stateOf("marlin2");
  const lines = ["Begin file list", ...listing, "End file list", `echo:Now fresh file: ${opened}`, `File opened: ${opened} Size: 5000`, "File selected", "SD printing byte 100/5000", "SD printing byte 400/5000"];
  const effects: Effect[] = [];
  lines.forEach((line, i) => effects.push(...reduce(s, parseLine(line, { dialect: s.dialect, inFileList: s.inFileList }), 1000 + i).effects));
  return { s, effects };
}

test("Marlin 2 (M20 T): a job on a file copied on after the listing is dated by the listing after it ends, once it is safe", () => {
  const { s, effects } = marlinJob(["OLD.GCO 10 0x5A3B1C2D"], "new.gco");
  const start = effects.find((e) => e.kind === "start");
  assert.ok(start && start.kind === "start" && start.metadata["modified"] === undefined);
  assert.equal(s.undated?.key, "new.gco");
  const mem = newPollMemory();
  mem.handshakeDone = true;
  const lists = (t: number) => dueCommands(s, mem, SETTINGS, t).filter((c) => c.startsWith("M20"));
  assert.deepEqual(lists(1010), [], "not while it prints");
  feed(s, [parseLine("Done printing file")], 1020);
  assert.equal(s.job, null);
  assert.deepEqual(lists(1020 + DATE_RELIST_SECONDS - 1), [], "not right after its end");
  assert.deepEqual(lists(1020 + DATE_RELIST_SECONDS), ["M20 T"]);
  assert.deepEqual(lists(1020 + DATE_RELIST_SECONDS + 5), [], "once");
  const dated = feed(s, ["Begin file list", "OLD.GCO 10 0x5A3B1C2D", "NEW.GCO 5000 0x58A8B5CE", "End file list"].map((l) => parseLine(l, { dialect: "marlin2", inFileList: true })), 1040);
  assert.deepEqual(dated.filter((e) => e.kind === "file_date").map((e) => (e as any).modified), [utc(2024, 5, 8, 22, 46, 28)]);
});

test("Marlin 2 without M20_TIMESTAMP_SUPPORT (a listing with files, none dated): no job waits, nothing is listed again", () => {
  const { s } = marlinJob(["OLD.GCO 10"], "new.gco");
  assert.equal(s.cardDated, false);
  assert.equal(s.undated, null);
});

test("Marlin 1.x and Buddy never wait for a date; a waiting job is given up after UNDATED_KEEP_S or at the next job", () => {
  const m1 = stateOf("marlin1");
  feed(m1, ["File opened:new.gco Size:5000", "File selected", 'echo:enqueueing "M24"', "SD printing byte 100/5000", "SD printing byte 400/5000"].map((l) => parseLine(l, { dialect: "marlin1", inFileList: false })));
  assert.ok(m1.job);
  assert.equal(m1.undated, null);
  const { s } = marlinJob([], "new.gco");
  assert.ok(s.undated);
  feed(s, [{ type: "tick" }], 1000 + UNDATED_KEEP_S + 10);
  assert.equal(s.undated, null);
});

test("Marlin 2: a screen start in a subfolder (`File opened: file.gco` for `SUB/FILE.GCO`) is dated from the one file of that name", () => {
  const { effects } = marlinJob(["SUB/PART.GCO 5000 0x5A3B1C2D", "OTHER/X.GCO 10 0x58A8B5CE"], "part.gco");
  const start = effects.find((e) => e.kind === "start");
  assert.ok(start && start.kind === "start");
  assert.equal(start.metadata["modified"], utc(2025, 1, 27, 3, 33, 26));
  const twice = marlinJob(["A/PART.GCO 5000 0x5A3B1C2D", "B/PART.GCO 5000 0x58A8B5CE"], "part.gco");
  const ambiguous = twice.effects.find((e) => e.kind === "start");
  assert.ok(ambiguous && ambiguous.kind === "start" && ambiguous.metadata["modified"] === undefined, "two of that name: no guess");
});

test("Marlin 2: a late file in a subfolder is dated at the end of the next listing, unless its name is in two folders", () => {
  for (const [extra, expected] of [[[], utc(2024, 5, 8, 22, 46, 28)], [["B/NEW.GCO 7 0x5A3B1C2D"], undefined]] as [string[], number | undefined][]) {
    const { s } = marlinJob(["OLD.GCO 10 0x5A3B1C2D"], "new.gco");
    feed(s, [parseLine("Done printing file")], 1020);
    const lines = ["Begin file list", "OLD.GCO 10 0x5A3B1C2D", "A/NEW.GCO 5000 0x58A8B5CE", ...extra, "End file list"];
    const effects: Effect[] = [];
    lines.forEach((l, i) => effects.push(...reduce(s, parseLine(l, { dialect: "marlin2", inFileList: s.inFileList }), 1040 + i).effects));
    assert.deepEqual(effects.filter((e) => e.kind === "file_date").map((e) => (e as any).modified), expected === undefined ? [] : [expected]);
  }
});

test("Marlin 2: a job started while the first listing is still to come is dated by it as it runs", () => {
  const s = stateOf("marlin2");
  const ctx = () => ({ dialect: s.dialect, inFileList: s.inFileList });
  const lines = ["echo:Now fresh file: part.gco", "File opened: part.gco Size: 5000", "File selected", "SD printing byte 100/5000", "Begin file list", "PART.GCO 5000 0x5A3B1C2D", "End file list"];
  const effects: Effect[] = [];
  lines.forEach((l, i) => effects.push(...reduce(s, parseLine(l, ctx()), 1000 + i).effects));
  assert.ok(s.job, "still printing");
  assert.deepEqual(effects.filter((e) => e.kind === "file_date").map((e) => (e as any).modified), [utc(2025, 1, 27, 3, 33, 26)]);
});
