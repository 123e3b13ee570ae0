// Node's flags come from one file, deploy/node-flags.env, for both systemd units (EnvironmentFile
// and an unbraced $PRINTLOG_NODE_FLAGS, which systemd splits into words), `npm start` and the
// benchmarks; the installer ships the file where the units look for it, and Node accepts them.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { deployedNodeFlags } from "../../scripts/node-flags.js";
import { ROOT, tempDir } from "../helpers.js";

test("the units, npm start and the bench take Node's flags from deploy/node-flags.env", async () => {
  const flags = deployedNodeFlags(ROOT);
  assert.ok(flags.includes("--optimize-for-size") && flags.includes("--single-threaded"), flags.join(" "));
  for (const unit of ["printlog.service", "printlog@.service"]) {
    const text = await readFile(join(ROOT, "deploy", unit), "utf8");
    assert.match(text, /^EnvironmentFile=\/opt\/printlog\/deploy\/node-flags\.env$/m, unit);
    const exec = /^ExecStart=(.*)$/m.exec(text)![1]!;
    assert.match(exec, /^\/usr\/bin\/env node \$PRINTLOG_NODE_FLAGS \/opt\/printlog\/dist\/src\/cli\/main\.js serve /, unit);
    assert.ok(!/--[a-z-]+/.test(exec.split("/main.js")[0]!), `${unit}: no flag of its own before main.js`);
  }
  const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8"));
  assert.match(pkg.scripts.start, /^node \$\(sed -n 's\/\^PRINTLOG_NODE_FLAGS=\/\/p' deploy\/node-flags\.env\) dist\/src\/cli\/main\.js serve$/);
  // What `npm start`'s shell expands to is exactly the list the bench uses.
  const expanded = execFileSync("sh", ["-c", "sed -n 's/^PRINTLOG_NODE_FLAGS=//p' deploy/node-flags.env"], { cwd: ROOT, encoding: "utf8" }).trim().split(/\s+/);
  assert.deepEqual(expanded, flags);
  const bench = await readFile(join(ROOT, "scripts", "bench-serve.ts"), "utf8");
  assert.match(bench, /deployedNodeFlags\(ROOT\)/);
});

test("Node accepts the flags (a bad one would stop the service from starting)", () => {
  const flags = deployedNodeFlags(ROOT);
  const r = spawnSync(process.execPath, [...flags, "-e", "console.log(JSON.stringify(process.execArgv))"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).slice(0, flags.length), flags);
});

test("install.sh ships the flags file where the units read it", async (t) => {
  const root = await tempDir(t);
  execFileSync("bash", [join(ROOT, "deploy", "install.sh"), "--root", root], { encoding: "utf8" });
  const installed = join(root, "opt/printlog/deploy/node-flags.env");
  assert.ok(existsSync(installed));
  assert.equal(await readFile(installed, "utf8"), await readFile(join(ROOT, "deploy", "node-flags.env"), "utf8"));
  assert.match(await readFile(join(root, "etc/systemd/system/printlog.service"), "utf8"), /\$PRINTLOG_NODE_FLAGS/);
});
