// `metadata.modified` through the real process, the virtual printer on a real pseudo-terminal and
// the HTTP API: the card's own date where the firmware lists one (RRF `M20 S3` of every folder,
// Marlin 2 with M20_TIMESTAMP_SUPPORT `M20 T` / `M20 L T`, Prusa `M20 L T`), also for a file
// copied on after the listing; none on Marlin 1.x and Buddy, whose listings carry no date,
// unless a copy of the file sits in `gcode_dir`.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { VpDialect, VpFile } from "../../scripts/virtual-printer.js";
import { RpcClient } from "../helpers.js";
import { rig, type Rig } from "./real-marlin-harness.js";

const DATED: VpFile = { sfn: "DATED~1.GCO", long: "dated part.gcode", size: 30_000, filament: 400, modified: Date.UTC(2025, 5, 17, 8, 42, 36) / 1000 };
// A local copy's time, unlike the card's: which one the job carries shows where it came from.
const LOCAL_MTIME = Date.UTC(2026, 0, 9, 12, 0, 0) / 1000;

interface Run {
  dialect: VpDialect;
  files: VpFile[];
  gcodeDir: boolean;
  /** Marlin 2 built with M20_TIMESTAMP_SUPPORT. */
  m20Timestamps?: boolean;
}

/** printlog and the printer, the card listed (with `gcode_dir` holding a copy of `local`). */
async function start(t: TestContext, run: Run, local?: VpFile): Promise<Rig> {
  // RRF announces no start: its job shows from two rising M27 answers (every 2 s while idle).
  const r = await rig(t, { dialect: run.dialect, printSeconds: run.dialect === "rrf" ? 10 : 3, files: run.files, ...(run.m20Timestamps ? { m20Timestamps: true } : {}) }, [], 5, { gcodeDir: run.gcodeDir });
  if (local) {
    const path = join(r.gcodeDir, local.long);
    await writeFile(path, Buffer.alloc(local.size, 0x3b));
    await utimes(path, LOCAL_MTIME, LOCAL_MTIME);
  }
  await r.listed();
  return r;
}

/** Prints `file` from the printer's screen; the finished job as the API shows it. */
async function print(r: Rig, file: VpFile): Promise<any> {
  const before = (await r.jobs())[0]?.job_id;
  r.vp.startPrint(file.sfn);
  const job = await r.waitJob((j) => j.job_id !== before && j.status !== "in_progress", "the job to finish", 120_000);
  assert.equal(job.status, "completed", JSON.stringify(job.printlog?.timeline));
  assert.deepEqual(r.vp.received.filter((c) => !/^M\d+/.test(c)), [], "only M-codes");
  return job;
}

async function printJob(t: TestContext, run: Run, file: VpFile): Promise<{ job: any; received: string[] }> {
  const r = await start(t, run, run.gcodeDir ? file : undefined);
  return { job: await print(r, file), received: [...r.vp.received] };
}

test("RRF: the card's date from M20 S3, every page of a listing cut at the line cap", { timeout: 240_000 }, async (t) => {
  // 30 files with long names: one JSON line of ~3 kB, which printlog takes in pages (`R`).
  const files: VpFile[] = Array.from({ length: 30 }, (_, i) => ({
    sfn: `P${i}.GCO`,
    long: `part_${String(i).padStart(2, "0")}_0.2mm_PETG_with_supports.gcode`,
    size: 20_000 + i,
    filament: 300,
    modified: Date.UTC(2024, i % 12, 1 + i, 10, i, 2 * i) / 1000,
  }));
  // Hostile names on the card: quotes, backslashes, a name that reads `ok`, one of 250 characters.
  files[5]!.long = 'ok "quoted" \\ back.gcode';
  files[6]!.long = "ok " + "y".repeat(240) + ".gcode";
  const print = files[28]!;
  const { job, received } = await printJob(t, { dialect: "rrf", files, gcodeDir: false }, print);
  assert.equal(job.filename, print.long);
  assert.equal(job.metadata.modified, print.modified, "metadata.modified is the card's date");
  assert.ok(received.includes("M20 S3"), received.join(" "));
  assert.ok(received.some((c) => /^M20 S3 R\d+$/.test(c)), `later pages asked for: ${received.filter((c) => c.startsWith("M20")).join(", ")}`);
  assert.ok(!received.some((c) => c === "M20" || c.startsWith("M20 L")), "RRF is asked only for its JSON listing");
});

test("RRF: files in subfolders are dated from their folder's listing; one copied on later, during its print", { timeout: 240_000 }, async (t) => {
  const at = (m: number) => Date.UTC(2025, m, 3, 4, 5, 6) / 1000;
  const nested: VpFile = { sfn: "N.GCO", long: "nested part.gcode", size: 20_000, filament: 300, modified: at(1), folder: 'say "hi"/Bob\'s' };
  const files: VpFile[] = [
    { sfn: "T.GCO", long: "top.gcode", size: 20_000, filament: 300, modified: at(0) },
    { sfn: "S.GCO", long: "in sub.gcode", size: 20_000, filament: 300, modified: at(2), folder: "sub" },
    nested,
  ];
  const r = await start(t, { dialect: "rrf", files, gcodeDir: false });
  const lists = () => r.vp.received.filter((c) => c.startsWith("M20"));
  assert.ok(lists().includes('M20 S3 P"0:/gcodes/sub"'), lists().join(", "));
  // RRF reads `""` as `"` and `''` as `'` (a lone `'` before a letter would lower-case it).
  assert.ok(lists().includes(`M20 S3 P"0:/gcodes/say ""hi""/Bob''s"`), lists().join(", "));
  const job = await print(r, nested);
  assert.equal(job.filename, `say "hi"/Bob's/nested part.gcode`);
  assert.equal(job.metadata.modified, nested.modified);
  // A file the listing has not seen: its folder is listed while it prints.
  const late: VpFile = { sfn: "L.GCO", long: "late.gcode", size: 20_000, filament: 300, modified: at(5), folder: "sub" };
  r.vp.files.push(late);
  const asked = lists().length;
  const lateJob = await print(r, late);
  assert.equal(lateJob.filename, "sub/late.gcode");
  assert.equal(lateJob.metadata.modified, late.modified, "dated during its print");
  assert.ok(lists().slice(asked).includes('M20 S3 P"0:/gcodes/sub"'), lists().slice(asked).join(", "));
});

for (const dialect of ["marlin2_host", "prusa_mk3"] as VpDialect[]) {
  test(`${dialect}: the card's date from M20 L T, no gcode_dir`, { timeout: 180_000 }, async (t) => {
    const { job, received } = await printJob(t, { dialect, files: [DATED], gcodeDir: false, m20Timestamps: true }, DATED);
    assert.ok(received.includes("M20 L T"));
    assert.equal(job.metadata.modified, DATED.modified);
  });
}

test("Marlin 2 with M20_TIMESTAMP_SUPPORT (no long names): M20 T dates the job, also in a folder; a file copied on later is dated by the listing after its print, kept across a restart", { timeout: 240_000 }, async (t) => {
  // A file in a folder: listed as `SUB/INSUB.GCO`, started from the screen as `insub.gco`.
  const inSub: VpFile = { sfn: "INSUB.GCO", long: "in sub.gcode", size: 20_000, filament: 300, modified: Date.UTC(2024, 10, 12, 13, 14, 16) / 1000, folder: "sub" };
  const r = await start(t, { dialect: "marlin2", files: [DATED, inSub], gcodeDir: false, m20Timestamps: true });
  assert.ok(r.vp.received.includes("M20 T"), r.vp.received.join(" "));
  const job = await print(r, DATED);
  assert.equal(job.filename, DATED.sfn, "no long names without LONG_FILENAME_HOST_SUPPORT");
  assert.equal(job.metadata.modified, DATED.modified, "metadata.modified is the card's date");
  assert.equal((await print(r, inSub)).metadata.modified, inSub.modified, "the one file of that name, in its folder");
  const late: VpFile = { sfn: "LATE.GCO", long: "late.gcode", size: 20_000, filament: 300, modified: Date.UTC(2026, 2, 4, 5, 6, 8) / 1000 };
  r.vp.files.push(late);
  const ws = await RpcClient.connect(r.url());
  t.after(() => ws.close());
  const lateJob = await print(r, late);
  assert.equal(lateJob.metadata.modified, undefined, "not dated while nothing listed it");
  const dated = await r.waitJob((j) => j.job_id === lateJob.job_id && j.metadata.modified !== undefined, "the date from the next listing", 90_000);
  assert.equal(dated.metadata.modified, late.modified);
  // Clients see it: the job's "finished" notification goes out again, now dated.
  const note = await ws.waitFor((m) => m.method === "notify_history_changed" && m.params?.[0]?.action === "finished" && m.params[0].job.job_id === lateJob.job_id && m.params[0].job.metadata.modified === late.modified);
  assert.equal(note.params[0].job.status, "completed");
  await r.restart("SIGTERM");
  assert.equal((await r.job(lateJob.job_id)).metadata.modified, late.modified, "journalled");
});

test("Marlin 2 without M20_TIMESTAMP_SUPPORT: the T is ignored, no date", { timeout: 180_000 }, async (t) => {
  const { job, received } = await printJob(t, { dialect: "marlin2", files: [DATED], gcodeDir: false }, DATED);
  assert.ok(received.includes("M20 T"));
  assert.equal(job.metadata.modified, undefined, `no date invented: ${JSON.stringify(job.metadata)}`);
});

for (const dialect of ["marlin1", "buddy"] as VpDialect[]) {
  test(`${dialect}: no date on the card, so none without gcode_dir; the local copy's with it`, { timeout: 240_000 }, async (t) => {
    const without = await printJob(t, { dialect, files: [DATED], gcodeDir: false }, DATED);
    assert.ok(without.received.includes("M20"), "the card was listed (plain M20)");
    assert.equal(without.job.metadata.modified, undefined, `no date invented: ${JSON.stringify(without.job.metadata)}`);
    assert.equal(without.job.metadata.size, DATED.size);
    const withDir = await printJob(t, { dialect, files: [DATED], gcodeDir: true }, DATED);
    assert.equal(withDir.job.filename, DATED.long);
    assert.equal(withDir.job.metadata.modified, LOCAL_MTIME, "the local copy's time");
  });
}
