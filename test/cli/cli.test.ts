// The printlog command: help, exit codes, configuration errors naming the key, export round
// trip, the install script against a scratch root, and a fresh clone serving after npm start.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HistoryStore } from "../../src/history/store.js";
import { silentLogger } from "../../src/log.js";
import { CSV_COLUMNS } from "../../src/cli/history-commands.js";
import { CLI, ROOT, http, sleep, startCli, tempDir } from "../helpers.js";

const run = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 30_000 });

test("--help on every command, exit 0; an unknown command or flag is a usage error (2)", () => {
  for (const cmd of [[], ["serve"], ["replay"], ["list"], ["totals"], ["export"], ["backup"], ["import"], ["check-config"]]) {
    const r = run([...cmd, "--help"]);
    assert.equal(r.status, 0, `${cmd.join(" ")} --help`);
    assert.match(r.stdout, /Usage: printlog/);
  }
  const unknown = run(["frobnicate"]);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const flag = run(["list", "--bogus"]);
  assert.equal(flag.status, 2);
  assert.match(flag.stderr, /bogus/);
});

test("configuration errors name the key and the bad value and exit 2", async (t) => {
  const dir = await tempDir(t);
  const cases: [string, RegExp][] = [
    ["[server]\nport: 99999\n", /server\.port: expected a whole number from 0 to 65535, got '99999'/],
    ["[printer]\nbaud: fast\n", /printer\.baud: expected a whole number .* got 'fast'/],
    ["[printer]\ndevice: COM3\n", /printer\.device: expected 'auto', 'none' or an absolute device path, got 'COM3'/],
    ["[authorization]\ntrusted_clients: 10.0.0.0/33\n", /authorization\.trusted_clients: bad prefix length in '10\.0\.0\.0\/33'/],
    ["[server]\nlog_level: loud\n", /server\.log_level: expected one of debug, info, warn, error, got 'loud'/],
    ["port: 1\n", /option outside any \[section\]/],
  ];
  for (const [text, re] of cases) {
    const cfg = join(dir, "c.cfg");
    await writeFile(cfg, text);
    const r = run(["check-config", "--config", cfg]);
    assert.equal(r.status, 2, text);
    assert.match(r.stderr, re);
  }
  const env = run(["check-config"], { PRINTLOG_HTTP_PORT: "-5" });
  assert.equal(env.status, 2);
  assert.match(env.stderr, /environment PRINTLOG_HTTP_PORT: server\.port/);
  const flagBad = run(["serve", "--http-port", "abc", "--device", "none"]);
  assert.equal(flagBad.status, 2);
  assert.match(flagBad.stderr, /--http-port: server\.port: expected a whole number/);
  const missing = run(["check-config", "--config", join(dir, "nope.cfg")]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read config file/);
  const warn = join(dir, "w.cfg");
  await writeFile(warn, "[server]\nport: 7200\nflux: 1\n[mystery]\na: 1\n");
  const ok = run(["check-config", "--config", warn]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /warning: .*unknown option 'server\.flux'/);
  assert.match(ok.stdout, /warning: .*unknown section \[mystery\]/);
  assert.match(ok.stdout, /listen\s+0\.0\.0\.0:7200/);
});

test("list, totals and export read a data directory; the CSV parses back to the same values", async (t) => {
  const dir = await tempDir(t);
  const store = await HistoryStore.open(dir, { logger: silentLogger });
  const names = ["plain.gcode", 'quote "and", comma.gcode', "multi\nline.gcode", "ünïcode ✓.gcode"];
  for (const [i, name] of names.entries()) {
    const j = await store.startJob({ filename: name, start_time: 1_700_000_000 + i * 1000, metadata: { size: 1000 + i, slicer: "Prusa, \"Slicer\"" } });
    await store.finishJob(j.job_id, i === 2 ? "cancelled" : "completed", 1_700_000_000 + i * 1000 + 500.25, { total_duration: 500.25, print_duration: 480.5, filament_used: 1234.56 + i }, "t");
  }
  await store.close();
  const list = run(["list", "--data-dir", dir]);
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /^ID\s+STATUS/);
  assert.match(list.stdout, /completed.*0:08:20/);
  const listJson = JSON.parse(run(["list", "--json", "--limit", "0", "--data-dir", dir]).stdout);
  assert.equal(listJson.count, 4);
  assert.equal(listJson.jobs[0].job_id, "000004");
  const totals = JSON.parse(run(["totals", "--json", "--data-dir", dir]).stdout);
  assert.equal(totals.job_totals.total_jobs, 4);
  const csvFile = join(dir, "out.csv");
  const exp = run(["export", "--format", "csv", "--output", csvFile, "--data-dir", dir]);
  assert.equal(exp.status, 0, exp.stderr);
  const rows = parseCsv(await readFile(csvFile, "utf8"));
  assert.deepEqual(rows[0], [...CSV_COLUMNS]);
  assert.equal(rows.length, 5);
  for (const [i, name] of names.entries()) {
    const r = Object.fromEntries(CSV_COLUMNS.map((c, k) => [c, rows[i + 1]![k]]));
    assert.equal(r["filename"], name);
    assert.equal(Number(r["start_time"]), 1_700_000_000 + i * 1000);
    assert.equal(Number(r["total_duration"]), 500.25);
    assert.equal(Number(r["filament_used"]), 1234.56 + i);
    assert.deepEqual(JSON.parse(r["metadata"]!), { size: 1000 + i, slicer: 'Prusa, "Slicer"' });
  }
  const filtered = JSON.parse(run(["export", "--format", "json", "--status", "cancelled", "--data-dir", dir]).stdout);
  assert.deepEqual(filtered.map((j: any) => j.filename), ["multi\nline.gcode"]);
  const since = JSON.parse(run(["export", "--format", "json", "--since", "1700001500", "--before", "2023-11-14T23:30:00Z", "--data-dir", dir]).stdout);
  assert.deepEqual(since.map((j: any) => j.job_id), ["000003", "000004"]);
  assert.equal(run(["export", "--status", "done", "--data-dir", dir]).status, 2);
  assert.equal(run(["export", "--since", "yesterday-ish", "--data-dir", dir]).status, 2);
});

/** RFC 4180 CSV, for the round trip. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  return rows;
}

test("serve: an HTTP port in use is a clear runtime error (1); a locked data directory too", async (t) => {
  const dir = await tempDir(t);
  const first = await startCli(["serve", "--device", "none", "--data-dir", join(dir, "a"), "--host", "127.0.0.1", "--http-port", "0"]);
  t.after(() => first.stop("SIGKILL"));
  const port = new URL(first.url).port;
  const busy = run(["serve", "--device", "none", "--data-dir", join(dir, "b"), "--host", "127.0.0.1", "--http-port", port]);
  assert.equal(busy.status, 1);
  assert.match(busy.stderr, /already in use/);
  const locked = run(["serve", "--device", "none", "--data-dir", join(dir, "a"), "--host", "127.0.0.1", "--http-port", "0"]);
  assert.equal(locked.status, 1);
  assert.match(locked.stderr, /in use by another printlog/);
});

test("install.sh against a scratch root: idempotent, keeps the config, uninstalls; touches nothing else", async (t) => {
  const root = await tempDir(t);
  const sh = join(ROOT, "deploy", "install.sh");
  execFileSync("bash", [sh, "--root", root], { encoding: "utf8" });
  for (const p of ["opt/printlog/dist/src/cli/main.js", "etc/printlog/printlog.cfg", "etc/systemd/system/printlog.service", "etc/udev/rules.d/99-printlog.rules", "var/lib/printlog"]) {
    assert.ok(existsSync(join(root, p)), p);
  }
  assert.match(await readFile(join(root, "etc/passwd"), "utf8"), /^printlog:/m);
  assert.match(await readFile(join(root, "etc/group"), "utf8"), /^dialout:x:20:printlog$/m);
  await writeFile(join(root, "etc/printlog/printlog.cfg"), "[server]\nport: 7300\n");
  const again = execFileSync("bash", [sh, "--root", root], { encoding: "utf8" });
  assert.match(again, /kept the existing/);
  assert.equal(await readFile(join(root, "etc/printlog/printlog.cfg"), "utf8"), "[server]\nport: 7300\n");
  assert.equal((await readFile(join(root, "etc/group"), "utf8")).match(/printlog/g)!.length, 2, "no duplicate group entries");
  const unit = await readFile(join(root, "etc/systemd/system/printlog.service"), "utf8");
  assert.match(unit, /SupplementaryGroups=dialout/);
  assert.match(unit, /Restart=on-failure/);
  const udev = await readFile(join(root, "etc/udev/rules.d/99-printlog.rules"), "utf8");
  assert.match(udev, /-hupcl/);
  execFileSync("bash", [sh, "--root", root, "--uninstall"]);
  assert.ok(!existsSync(join(root, "etc/systemd/system/printlog.service")));
  assert.ok(!existsSync(join(root, "opt/printlog")));
  assert.ok(existsSync(join(root, "etc/printlog/printlog.cfg")), "config kept without --purge");
  execFileSync("bash", [sh, "--root", root, "--uninstall", "--purge"]);
  assert.ok(!existsSync(join(root, "etc/printlog")));
  // The real system was not touched.
  assert.ok(!existsSync("/etc/systemd/system/printlog.service") || process.env["PRINTLOG_INSTALLED"] === "1");
});

test("a fresh clone: npm install, then npm start serves /server/history/list and says it waits for a printer", { timeout: 300_000 }, async (t) => {
  if (!existsSync(join(ROOT, ".git"))) return t.skip("not a git checkout");
  const dir = await tempDir(t);
  const clone = join(dir, "printlog");
  execFileSync("git", ["clone", "--quiet", ROOT, clone]);
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: clone, stdio: "ignore", timeout: 240_000 });
  const { spawn } = await import("node:child_process");
  const proc = spawn("npm", ["start", "--", "--http-port", "0", "--host", "127.0.0.1"], { cwd: clone, stdio: ["ignore", "pipe", "pipe"], detached: true });
  t.after(() => {
    try {
      process.kill(-proc.pid!, "SIGTERM");
    } catch {
      // gone
    }
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  for (let i = 0; i < 150 && !/serving the history API on (\S+)/.test(out); i++) await sleep(100);
  const url = /serving the history API on (\S+)/.exec(out)?.[1];
  assert.ok(url, out);
  assert.match(out, /waiting for a printer; looking in \/dev\/serial\/by-id\/\*, \/dev\/ttyACM\*, \/dev\/ttyUSB\*/);
  const r = await http(`${url}/server/history/list`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.result, { count: 0, jobs: [] });
  assert.ok(existsSync(join(clone, "data", "history.jsonl")), "data in ./data of the checkout");
});
