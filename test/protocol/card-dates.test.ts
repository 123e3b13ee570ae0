// Dating a job's file from the printer's card: Marlin 2 / Prusa `M20 T` FAT words, RRF's `M20 S3`
// JSON (cut pages, hostile names and dates), what each firmware is asked, and the date carried
// to the job's `metadata.modified`. Rows are real output shapes, each labelled with its source.

import { test } from "node:test";
import assert from "node:assert/strict";
import { cardDate, fatTimestamp, parseFileListEntry } from "../../src/protocol/file-list.js";
import { parseRrfFileList } from "../../src/protocol/rrf-file-list.js";
import { parseLine } from "../../src/protocol/parse.js";
import { MAX_LINE_LENGTH, type Dialect, type PrinterEvent } from "../../src/protocol/events.js";
import { initialRecorderState, reduce } from "../../src/job/reducer.js";
import { MAX_CARD_FILES, MAX_LIST_PAGES } from "../../src/job/card-files.js";
import type { Effect, RecorderInput } from "../../src/job/types.js";
import { dueCommands, listCommand, newPollMemory, RELIST_IDLE_SECONDS, setupCommands } from "../../src/serial/poll-plan.js";
import { answerShape } from "../../src/serial/link.js";
import { feed, stateOf } from "./reduce-steps.js";

const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => Date.UTC(y, mo - 1, d, h, mi, s) / 1000;

// ---- FAT words (M20 T) ----

const FAT_ROWS: [string, number, number | null][] = [
  ["MarlinDocumentation M020.md / serial-protocol.md T9", 0x5a3b1c2d, utc(2025, 1, 27, 3, 33, 26)],
  ["Prusa-Firmware cardreader.cpp (serial-protocol.md T9)", 0x58a8b5ce, utc(2024, 5, 8, 22, 46, 28)],
  ["a card formatted and never dated: date word 0", 0x00000000, null],
  ["all bits set: month 15, 31:63:62", 0xffffffff, null],
  ["30 February 2024 (date word 0x585e)", (((2024 - 1980) << 9) | (2 << 5) | 30) << 16, null],
  ["29 February 2024 exists", ((((2024 - 1980) << 9) | (2 << 5) | 29) << 16) >>> 0, utc(2024, 2, 29)],
];

for (const [source, word, expected] of FAT_ROWS) {
  test(`M20 T 0x${word.toString(16)} (${source}) -> ${expected === null ? "no date" : new Date(expected * 1000).toISOString()}`, () => {
    assert.equal(fatTimestamp(word), expected);
  });
}

test("cardDate refuses what is no date: before FAT's 1980, after its 2107, 25 o'clock, fractions", () => {
  assert.equal(cardDate(1979, 12, 31, 23, 59, 58), null);
  assert.equal(cardDate(2108, 1, 1, 0, 0, 0), null);
  assert.equal(cardDate(2024, 1, 1, 24, 0, 0), null);
  assert.equal(cardDate(2024, 1, 1.5, 0, 0, 0), null);
  assert.equal(cardDate(2024, 4, 31, 0, 0, 0), null);
  assert.equal(cardDate(2024, 12, 31, 23, 59, 59), utc(2024, 12, 31, 23, 59, 59));
});

const ENTRY_ROWS: [string, string, Record<string, unknown>][] = [
  ["Marlin 2 M20 L T (M020.md)", "CALIBR~1.GCO 12893 0x5A3B1C2D calibration_cube_0.2mm_PLA", { sfn: "CALIBR~1.GCO", size: 12893, long: "calibration_cube_0.2mm_PLA", modified: utc(2025, 1, 27, 3, 33, 26) }],
  ["Prusa MK3 M20 L T (cardreader.cpp)", 'NAME.GCO 14129 0x58a8b5ce "Long name.gcode"', { sfn: "NAME.GCO", size: 14129, long: "Long name.gcode", modified: utc(2024, 5, 8, 22, 46, 28) }],
  ["Marlin 2 M20 T, M20_TIMESTAMP_SUPPORT without long names (M20.cpp)", "BENCHY.GCO 240000 0x5A3B1C2D", { sfn: "BENCHY.GCO", size: 240000, long: null, modified: utc(2025, 1, 27, 3, 33, 26) }],
  ["Marlin 1.1.x M20 (cardreader.cpp LS_SerialPrint: path, name, size)", "/SUB/BENCHY.GCO 240000", { sfn: "SUB/BENCHY.GCO", size: 240000, long: null, modified: null }],
  ["Buddy M20 (bare d_name)", "XYZCAL~1.GCO", { sfn: "XYZCAL~1.GCO", size: null, long: null, modified: null }],
  ["hostile: a date word too long to be FAT", "A.GCO 10 0x123456789 Long.gcode", { sfn: "A.GCO", size: 10, long: "Long.gcode", modified: null }],
  ["hostile: an impossible date word", "A.GCO 10 0xFFFFFFFF", { modified: null }],
  ["hostile: a size past 2^53", "A.GCO 123456789012345678901", { size: null }],
];

for (const [source, line, expected] of ENTRY_ROWS) {
  test(`listing line (${source}): ${line}`, () => {
    const ev = parseFileListEntry(line) as unknown as Record<string, unknown>;
    assert.equal(ev.type, "file_list_entry");
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(ev[k], v, k);
  });
}

// ---- RRF M20 S3 (RepRap::GetFilelistResponse) ----

const rrfEntry = (name: string, size: number, date?: string) => `{"type":"f","name":${JSON.stringify(name)},"size":${size}${date ? `,"date":"${date}"` : ""}}`;
const rrfList = (entries: string[], first = 0, tail = ',"next":0') => `{"dir":"0:/gcodes/","first":${first},"files":[${entries.join(",")}]${tail}}`;

test("RRF M20 S3: files with dates, a folder, a file dated 1980 or earlier (no `date`)", () => {
  const line = rrfList([rrfEntry("benchy.gcode", 1234, "2024-05-01T10:20:30"), '{"type":"d","name":"macros","size":0,"date":"2023-01-01T00:00:00"}', rrfEntry("old.gcode", 10)]);
  const ev = parseRrfFileList(line);
  assert.deepEqual(ev, {
    type: "file_list_json",
    dir: "",
    first: 0,
    files: [
      { name: "benchy.gcode", size: 1234, modified: utc(2024, 5, 1, 10, 20, 30) },
      { name: "old.gcode", size: 10, modified: null },
    ],
    folders: ["macros"],
    resume: null,
    cut: false,
  });
});

test("RRF M20 S3: no card (`err` 1), an empty folder, S2's `err`:0 tail", () => {
  const empty = { type: "file_list_json", dir: "", first: 0, files: [], folders: [], resume: null, cut: false };
  assert.deepEqual(parseRrfFileList('{"dir":"0:/gcodes/","first":0,"files":[],"err":1}'), empty);
  assert.deepEqual(parseRrfFileList(rrfList([])), empty);
  assert.equal((parseRrfFileList(rrfList([rrfEntry("a.gcode", 1)], 0, ',"next":0,"err":0')) as any).cut, false);
});

test("RRF M20 S3: the firmware's own page limit (`next`) asks for the rest from there", () => {
  const ev = parseRrfFileList(rrfList([rrfEntry("a.gcode", 1)], 5, ',"next":6')) as any;
  assert.equal(ev.resume, 6);
  assert.equal((parseRrfFileList(rrfList([rrfEntry("a.gcode", 1)], 5, ',"next":3')) as any).resume, null, "a `next` going backwards is ignored");
});

test("RRF M20 S3 cut at the line cap: complete entries kept, the next page starts after them", () => {
  const entries = Array.from({ length: 40 }, (_, i) => rrfEntry(`part_${String(i).padStart(2, "0")}_with_a_long_name.gcode`, 1000 + i, "2025-03-04T05:06:08"));
  const full = rrfList(entries, 0);
  assert.ok(full.length > MAX_LINE_LENGTH);
  const ev = parseLine(full.slice(0, MAX_LINE_LENGTH)) as any;
  assert.equal(ev.type, "file_list_json");
  assert.equal(ev.cut, true);
  assert.ok(ev.files.length > 5 && ev.files.length < 40);
  assert.equal(ev.resume, ev.files.length);
  assert.deepEqual(ev.files[0], { name: "part_00_with_a_long_name.gcode", size: 1000, modified: utc(2025, 3, 4, 5, 6, 8) });
  // The pieces that follow, up to the `ok`, are file names, not printer messages.
  const piece = parseLine(full.slice(MAX_LINE_LENGTH, 2 * MAX_LINE_LENGTH), { dialect: "rrf", inFileList: false, inJsonList: true });
  assert.deepEqual(piece, { type: "other", text: "" });
  assert.deepEqual(parseLine('ing file.gcode","size":1}],"next":0}', { dialect: "rrf", inFileList: false, inJsonList: true }), { type: "file_list_end" });
  assert.deepEqual(parseLine("Done printing file", { dialect: "rrf", inFileList: false, inJsonList: true }), { type: "other", text: "" });
  assert.equal(parseLine("ok", { dialect: "rrf", inFileList: false, inJsonList: true }).type, "ok");
});

test("RRF M20 S3 hostile: escapes decoded, impossible dates, paths, absurd sizes and non-listings", () => {
  const ev = parseRrfFileList(
    rrfList([
      rrfEntry('say "hi".gcode', 1, "2024-02-30T10:00:00"),
      rrfEntry("a.gcode", 2, "9999-01-01T00:00:00"),
      rrfEntry("../../etc/passwd", 3, "2024-01-01T00:00:00"),
      '{"type":"f","name":"big.gcode","size":999999999999999,"date":"2024-01-01T00:00:00"}',
      '{"type":"f","name":"bad\\u12.gcode","size":1}',
    ]),
  ) as any;
  assert.deepEqual(
    ev.files.map((f: any) => [f.name, f.size, f.modified]),
    [
      ['say "hi".gcode', 1, null],
      ["a.gcode", 2, null],
      ["big.gcode", 999999999999999, utc(2024, 1, 1)],
    ],
  );
  assert.equal(parseRrfFileList('{"dir":"0:/gcodes/","first":"x","files":[]}'), null);
  assert.equal(parseRrfFileList('{"key":"job.file.fileName","result":null}'), null);
  assert.equal(parseLine('{"dir": garbage').type, "other");
  assert.equal(parseLine("{" + "[".repeat(100_000)).type, "other");
});

// ---- the reducer: listing -> job metadata ----

const rrfState = () => stateOf("rrf");

test("RRF: a job named by M409 is dated from the listing (metadata.modified in the rename)", () => {
  const s = rrfState();
  feed(s, [parseRrfFileList(rrfList([rrfEntry("benchy.gcode", 5000, "2024-05-01T10:20:30")]))!]);
  const effects = feed(s, [
    { type: "sd_progress", pos: 100, size: 5000 },
    { type: "sd_progress", pos: 400, size: 5000 },
    parseLine('{"key":"job.file.fileName","flags":"","result":"0:/gcodes/benchy.gcode"}'),
  ]);
  assert.ok(effects.some((e) => e.kind === "start"), "a job started");
  const rename = effects.find((e) => e.kind === "update" && e.fields.filename === "benchy.gcode");
  assert.ok(rename && rename.kind === "update");
  assert.deepEqual(rename.fields.metadata, { modified: utc(2024, 5, 1, 10, 20, 30) });
});

test("RRF without the object model: the job named by `Finished printing file` is dated then", () => {
  const s = rrfState();
  feed(s, [parseRrfFileList(rrfList([rrfEntry("benchy.gcode", 5000, "2024-05-01T10:20:30")]))!]);
  const effects = feed(s, [
    { type: "sd_progress", pos: 100, size: 5000 },
    { type: "sd_progress", pos: 400, size: 5000 },
    parseLine("Done printing file"),
    parseLine("Finished printing file 0:/gcodes/benchy.gcode, print time was 0h 1m"),
  ]);
  const rename = effects.find((e) => e.kind === "update" && e.fields.filename === "benchy.gcode");
  assert.ok(rename && rename.kind === "update", JSON.stringify(effects.map((e) => e.kind)));
  assert.deepEqual(rename.fields.metadata, { modified: utc(2024, 5, 1, 10, 20, 30) });
  assert.ok(effects.some((e) => e.kind === "finish" && e.status === "completed"));
});

test("RRF: a file the listing does not date gets no modified (never a guess)", () => {
  const s = rrfState();
  feed(s, [parseRrfFileList(rrfList([rrfEntry("old.gcode", 5000)]))!]);
  const effects = feed(s, [{ type: "sd_progress", pos: 100, size: 5000 }, { type: "sd_progress", pos: 400, size: 5000 }, { type: "current_file", sfn: "0:/gcodes/old.gcode", long: "0:/gcodes/old.gcode" }]);
  const rename = effects.find((e) => e.kind === "update" && e.fields.filename === "old.gcode");
  assert.ok(rename && rename.kind === "update");
  assert.equal(rename.fields.metadata, undefined);
});

test("RRF: a cut page asks for the next from where it stopped, only while nothing prints, at most MAX_LIST_PAGES", () => {
  const s = rrfState();
  const page = (first: number): PrinterEvent => ({ type: "file_list_json", dir: "", first, files: [{ name: `f${first}.gcode`, size: 1, modified: null }], folders: [], resume: first + 1, cut: true });
  let effects = feed(s, [page(0)]);
  assert.deepEqual(effects, [{ kind: "query", command: "M20 S3 R1" }]);
  assert.notEqual(s.jsonListSince, null, "the pieces of the cut line follow");
  feed(s, [{ type: "ok" }]);
  assert.equal(s.jsonListSince, null, "the listing's ok ends them");
  const queries: string[] = [];
  for (let i = 1; i < MAX_LIST_PAGES + 5; i++) queries.push(...feed(s, [page(i)]).flatMap((e) => (e.kind === "query" ? [e.command] : [])));
  assert.equal(queries.length, MAX_LIST_PAGES - 2, "pages 1 … MAX-2 ask for one more, so MAX pages in all");
  // A job started meanwhile: no more pages.
  const busy = rrfState();
  feed(busy, [{ type: "sd_progress", pos: 100, size: 5000 }, { type: "sd_progress", pos: 400, size: 5000 }]);
  assert.ok(busy.job);
  effects = feed(busy, [page(0)]);
  assert.deepEqual(effects.filter((e) => e.kind === "query" && e.command.startsWith("M20")), []);
});

test("RRF: the pieces of a cut line end with their ok, a reset, a lost link, or after 10 s at most", () => {
  for (const end of [{ type: "boot" }, { type: "link_lost", reason: "x" }, { type: "file_list_end" }] as RecorderInput[]) {
    const s = rrfState();
    feed(s, [{ type: "file_list_json", dir: "", first: 0, files: [], folders: [], resume: null, cut: true }, end]);
    assert.equal(s.jsonListSince, null, end.type);
  }
  const s = rrfState();
  feed(s, [{ type: "file_list_json", dir: "", first: 0, files: [], folders: [], resume: null, cut: true }], 1000);
  feed(s, [{ type: "tick" }], 1005);
  assert.notEqual(s.jsonListSince, null);
  feed(s, [{ type: "tick" }], 1011);
  assert.equal(s.jsonListSince, null);
});

test("a hostile card cannot grow the listing past MAX_CARD_FILES", () => {
  const s = rrfState();
  const files = Array.from({ length: MAX_CARD_FILES + 100 }, (_, i) => ({ name: `f${i}.gcode`, size: 1, modified: null }));
  const effects = feed(s, [{ type: "file_list_json", dir: "", first: 0, files, folders: [], resume: files.length, cut: true }]);
  assert.equal(Object.keys(s.files).length, MAX_CARD_FILES);
  assert.deepEqual(effects, [], "a full listing asks for no more pages");
});

test("an endless M20 listing of new names stops growing at MAX_CARD_FILES; known names still update", () => {
  const s = initialRecorderState();
  s.dialect = "marlin2";
  feed(s, [parseLine("Begin file list")]);
  for (let i = 0; i < MAX_CARD_FILES + 50; i++) reduce(s, parseLine(`F${i}.GCO ${i}`, { dialect: "marlin2", inFileList: s.inFileList }), 1000);
  assert.equal(Object.keys(s.files).length, MAX_CARD_FILES);
  reduce(s, parseLine("F1.GCO 99 0x5A3B1C2D", { dialect: "marlin2", inFileList: s.inFileList }), 1001);
  assert.equal(s.files["f1.gco"]!.size, 99);
  assert.equal(s.files["f1.gco"]!.modified, utc(2025, 1, 27, 3, 33, 26));
});

test("Marlin 2 (M20 L T): a screen start is dated from the listing at once", () => {
  const s = initialRecorderState();
  s.dialect = "marlin2";
  const lines = ["Begin file list", "CALIBR~1.GCO 12893 0x5A3B1C2D calibration_cube_0.2mm_PLA", "End file list", "echo:Now fresh file: calibr~1.gco", "File opened: calibr~1.gco Size: 12893", "File selected"];
  const effects: Effect[] = [];
  lines.forEach((line, i) => effects.push(...reduce(s, parseLine(line, { dialect: s.dialect, inFileList: s.inFileList }), 1000 + i).effects));
  const start = effects.find((e) => e.kind === "start");
  assert.ok(start && start.kind === "start");
  assert.equal(start.metadata["modified"], utc(2025, 1, 27, 3, 33, 26));
});

test("Marlin 1.x and Buddy listings carry no date: a job on them has no modified of its own", () => {
  for (const [dialect, entry, opened] of [
    ["marlin1", "BENCHY~1.GCO 240000", "File opened:benchy~1.gco Size:240000"],
    ["prusa_buddy", "BENCHY~1.GCO", "File opened: /usb/BENCHY~1.GCO Size:240000"],
  ] as [Dialect, string, string][]) {
    const s = initialRecorderState();
    s.dialect = dialect;
    const lines = ["Begin file list", entry, "End file list", opened, "File selected", 'echo:enqueueing "M24"', "SD printing byte 100/240000", "SD printing byte 400/240000"];
    const effects: Effect[] = [];
    lines.forEach((line, i) => effects.push(...reduce(s, parseLine(line, { dialect: s.dialect, inFileList: s.inFileList }), 1000 + i).effects));
    const start = effects.find((e) => e.kind === "start");
    assert.ok(start && start.kind === "start", dialect);
    assert.equal(start.metadata["modified"], undefined, dialect);
  }
});

// ---- what each firmware is asked, and when ----

test("the listing command per firmware: RRF's dated JSON, M20 L T where long names are, M20 T on other Marlin 2, else plain M20", () => {
  const s = initialRecorderState();
  const rows: [Dialect, Record<string, boolean>, string][] = [
    ["rrf", {}, "M20 S3"],
    ["marlin2", { EXTENDED_M20: true }, "M20 L T"],
    ["marlin2", {}, "M20 T"],
    ["prusa_mk3", {}, "M20 L T"],
    ["marlin1", {}, "M20"],
    ["prusa_buddy", {}, "M20"],
  ];
  for (const [dialect, caps, cmd] of rows) {
    s.dialect = dialect;
    s.caps = caps;
    assert.equal(listCommand(s), cmd, dialect);
    assert.ok(setupCommands(s, { idleSeconds: 10, printingSeconds: 2, positionSeconds: 5, statsSeconds: 30 }).includes(cmd));
  }
});

test("the card is listed again every RELIST_IDLE_SECONDS while idle, never while a job runs or a file is selected", () => {
  const settings = { idleSeconds: 10, printingSeconds: 2, positionSeconds: 5, statsSeconds: 30 };
  const s = rrfState();
  const mem = newPollMemory();
  mem.handshakeDone = true;
  const at = (t: number) => dueCommands(s, mem, settings, t).filter((c) => c.startsWith("M20"));
  assert.deepEqual(at(0), [], "the first listing went out with the setup commands");
  assert.deepEqual(at(RELIST_IDLE_SECONDS - 1), []);
  assert.deepEqual(at(RELIST_IDLE_SECONDS), ["M20 S3"]);
  s.selected = { name: "a.gcode", sfn: "a.gcode", size: 1, at: 0 };
  assert.deepEqual(at(3 * RELIST_IDLE_SECONDS), [], "a file selected");
  s.selected = null;
  feed(s, [{ type: "sd_progress", pos: 100, size: 5000 }, { type: "sd_progress", pos: 400, size: 5000 }], 4 * RELIST_IDLE_SECONDS);
  assert.ok(s.job);
  assert.deepEqual(at(5 * RELIST_IDLE_SECONDS), [], "printing");
});

test("M20 S3 is answered by its JSON line (never by `End file list`); M20 by `End file list`", () => {
  assert.equal(answerShape("M20 S3")!.test('{"dir":"0:/gcodes/","first":0,"files":[],"next":0}'), true);
  assert.equal(answerShape("M20 S3 R12")!.test("End file list"), false);
  assert.equal(answerShape("M20 L T")!.test("End file list"), true);
});
