// `metadata.modified` through the real process, the virtual printer on a real pseudo-terminal and
// the HTTP API: the card's own date where the firmware lists one (RRF `M20 S3`, Marlin 2 and
// Prusa `M20 L T`); none on Marlin 1.x and Buddy, whose listings carry no date, unless a copy of
// the file sits in `gcode_dir`.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { VirtualPrinter, type VpDialect, type VpFile } from "../../scripts/virtual-printer.js";
import { http, sleep, startCli, tempDir } from "../helpers.js";

const DATED: VpFile = { sfn: "DATED~1.GCO", long: "dated part.gcode", size: 30_000, filament: 400, modified: Date.UTC(2025, 5, 17, 8, 42, 36) / 1000 };
// A local copy's time, unlike the card's: which one the job carries shows where it came from.
const LOCAL_MTIME = Date.UTC(2026, 0, 9, 12, 0, 0) / 1000;

interface Run {
  dialect: VpDialect;
  files: VpFile[];
  print: VpFile;
  gcodeDir: boolean;
}

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T = await get();
  while (!ok(last)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await sleep(200);
    last = await get();
  }
  return last;
}

/** Prints `run.print` from the printer's screen once printlog has listed the card, and returns
 *  the finished job as the API shows it, with the commands printlog sent. */
async function printJob(t: TestContext, run: Run): Promise<{ job: any; received: string[] }> {
  const dir = await tempDir(t);
  const link = join(dir, "printer");
  const cfg = join(dir, "printlog.cfg");
  const lines = ["[server]", "host: 127.0.0.1", "port: 0", `data_dir: ${join(dir, "data")}`, "[printer]", `device: ${link}`, "poll_printing_seconds: 1", "poll_idle_seconds: 2", "command_timeout_seconds: 5"];
  if (run.gcodeDir) {
    const gcodes = join(dir, "gcodes");
    await mkdir(gcodes);
    const local = join(gcodes, run.print.long);
    await writeFile(local, Buffer.alloc(run.print.size, 0x3b));
    await utimes(local, LOCAL_MTIME, LOCAL_MTIME);
    lines.push(`gcode_dir: ${gcodes}`);
  }
  await writeFile(cfg, lines.join("\n") + "\n");
  const vp = new VirtualPrinter({ link, dialect: run.dialect, printSeconds: 3, files: run.files });
  await vp.plug();
  const pl = await startCli(["serve", "--config", cfg]);
  t.after(async () => {
    await pl.stop("SIGKILL");
    await vp.close();
  });
  await pl.waitFor(/printer\.watching/, 30_000);
  // The listing (every page of it) is over once no M20 has gone out for a while.
  let seen = -1;
  await until("the card listing", async () => {
    const n = vp.received.filter((c) => c.startsWith("M20")).length;
    const stable = n > 0 && n === seen;
    seen = n;
    await sleep(1500);
    return stable;
  }, (stable) => stable);
  vp.startPrint(run.print.sfn);
  const job = await until(
    "the job to finish",
    async () => (await http(`${pl.url}/server/history/list?limit=1`)).body?.result?.jobs?.[0],
    (j: any) => j !== undefined && j.status !== "in_progress",
  );
  assert.equal(job.status, "completed", `${run.dialect}: ${JSON.stringify(job.printlog?.timeline)}`);
  assert.deepEqual(vp.received.filter((c) => !/^M\d+/.test(c)), [], "only M-codes");
  return { job, received: [...vp.received] };
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
  const { job, received } = await printJob(t, { dialect: "rrf", files, print, gcodeDir: false });
  assert.equal(job.filename, print.long);
  assert.equal(job.metadata.modified, print.modified, "metadata.modified is the card's date");
  assert.ok(received.includes("M20 S3"), received.join(" "));
  assert.ok(received.some((c) => /^M20 S3 R\d+$/.test(c)), `later pages asked for: ${received.filter((c) => c.startsWith("M20")).join(", ")}`);
  assert.ok(!received.some((c) => c === "M20" || c.startsWith("M20 L")), "RRF is asked only for its JSON listing");
});

for (const dialect of ["marlin2_host", "prusa_mk3"] as VpDialect[]) {
  test(`${dialect}: the card's date from M20 L T, no gcode_dir`, { timeout: 180_000 }, async (t) => {
    const { job, received } = await printJob(t, { dialect, files: [DATED], print: DATED, gcodeDir: false });
    assert.ok(received.includes("M20 L T"));
    assert.equal(job.metadata.modified, DATED.modified);
  });
}

for (const dialect of ["marlin1", "buddy"] as VpDialect[]) {
  test(`${dialect}: no date on the card, so none without gcode_dir; the local copy's with it`, { timeout: 240_000 }, async (t) => {
    const without = await printJob(t, { dialect, files: [DATED], print: DATED, gcodeDir: false });
    assert.ok(without.received.includes("M20"), "the card was listed (plain M20)");
    assert.equal(without.job.metadata.modified, undefined, `no date invented: ${JSON.stringify(without.job.metadata)}`);
    assert.equal(without.job.metadata.size, DATED.size);
    const withDir = await printJob(t, { dialect, files: [DATED], print: DATED, gcodeDir: true });
    assert.equal(withDir.job.filename, DATED.long);
    assert.equal(withDir.job.metadata.modified, LOCAL_MTIME, "the local copy's time");
  });
}
