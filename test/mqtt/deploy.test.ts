// deploy/printlog@.service and `install.sh --instance`: several printers on one computer, each
// with its own configuration, port and data directory (run against a scratch root).

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { CLI, ROOT, tempDir } from "../helpers.js";

test("install.sh --instance: a template unit, one config and data directory per printer", async (t) => {
  const root = await tempDir(t);
  const sh = join(ROOT, "deploy", "install.sh");
  const out = execFileSync("bash", [sh, "--root", root, "--instance", "mk3", "--port", "7126"], { encoding: "utf8" });
  assert.match(out, /installed printlog@mk3/);
  execFileSync("bash", [sh, "--root", root, "--instance", "ender", "--port", "7127"], { encoding: "utf8" });
  const unit = await readFile(join(root, "etc/systemd/system/printlog@.service"), "utf8");
  assert.match(unit, /--config \/etc\/printlog\/%i\.cfg --data-dir \/var\/lib\/printlog\/%i/);
  assert.match(unit, /^ReadWritePaths=\/var\/lib\/printlog\/%i$/m);
  for (const [name, port] of [["mk3", 7126], ["ender", 7127]] as const) {
    const cfg = await readFile(join(root, `etc/printlog/${name}.cfg`), "utf8");
    assert.match(cfg, new RegExp(`^port: ${port}$`, "m"));
    assert.match(cfg, new RegExp(`^data_dir: /var/lib/printlog/${name}$`, "m"));
    assert.match(cfg, new RegExp(`^#instance_name: ${name}$`, "m"));
    assert.ok(existsSync(join(root, `var/lib/printlog/${name}`)));
    // The generated file is a valid configuration, and so is it with its [mqtt] block switched on.
    const check = spawnSync(process.execPath, [CLI, "check-config", "--config", join(root, `etc/printlog/${name}.cfg`)], { encoding: "utf8" });
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, new RegExp(`listen +0\\.0\\.0\\.0:${port}`));
    const [head, block] = cfg.split("#[mqtt]\n");
    const on = head + "[mqtt]\n" + block!.replace(/^#(address|port|instance_name|default_qos|home_assistant_discovery):/gm, "$1:");
    await writeFile(join(root, `${name}-mqtt.cfg`), on);
    const withMqtt = spawnSync(process.execPath, [CLI, "check-config", "--config", join(root, `${name}-mqtt.cfg`)], { encoding: "utf8" });
    assert.equal(withMqtt.status, 0, withMqtt.stderr);
    assert.match(withMqtt.stdout, new RegExp(`mqtt +mqtt-broker\\.local:1883 as ${name}, Home Assistant discovery`));
  }
  assert.ok(!existsSync(join(root, "etc/printlog/printlog.cfg")), "the single-printer config is not written for an instance");
  assert.match(execFileSync("bash", [sh, "--root", root, "--instance", "mk3", "--port", "7126"], { encoding: "utf8" }), /kept the existing/);
  const bad = spawnSync("bash", [sh, "--root", root, "--instance", "a/b"], { encoding: "utf8" });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--instance: letters, digits/);
  assert.equal(spawnSync("bash", [sh, "--root", root, "--instance", "x", "--port", "99999"]).status, 2);
  execFileSync("bash", [sh, "--root", root, "--uninstall", "--instance", "mk3", "--purge"]);
  assert.ok(!existsSync(join(root, "etc/printlog/mk3.cfg")));
  assert.ok(!existsSync(join(root, "var/lib/printlog/mk3")));
  assert.ok(existsSync(join(root, "etc/printlog/ender.cfg")), "the other printer is untouched");
});
