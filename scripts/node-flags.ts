// Node's flags printlog is deployed with, read from deploy/node-flags.env: the one place the
// systemd units, `npm start`, the benchmarks and the tests that measure memory take them from.

import { readFileSync } from "node:fs";
import { join } from "node:path";

export function deployedNodeFlags(root: string): string[] {
  const file = join(root, "deploy", "node-flags.env");
  const m = /^PRINTLOG_NODE_FLAGS=(.*)$/m.exec(readFileSync(file, "utf8"));
  if (!m) throw new Error(`${file}: no PRINTLOG_NODE_FLAGS= line`);
  return m[1]!.trim().split(/\s+/).filter(Boolean);
}
