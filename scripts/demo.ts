// `npm run demo`: a virtual printer and printlog together. Prints a few jobs from the printer's
// "screen" (completed, paused and resumed, cancelled) and leaves the API running for a look.

import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { VirtualPrinter } from "./virtual-printer.js";

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, "..", "src", "cli", "main.js");
const say = (s: string) => process.stdout.write(`demo: ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = await mkdtemp(join(tmpdir(), "printlog-demo-"));
const link = join(dir, "printer");
const port = process.env["PRINTLOG_HTTP_PORT"] ?? "7125";
await writeFile(join(dir, "printlog.cfg"), `[server]\nport: ${port}\ndata_dir: ${join(dir, "data")}\n[printer]\ndevice: ${link}\npoll_printing_seconds: 1\n`);
// Built with M20_TIMESTAMP_SUPPORT: the card dates the jobs' files (`metadata.modified`) without gcode_dir.
const vp = new VirtualPrinter({ link, dialect: "marlin2_host", printSeconds: 8, printcounter: true, m20Timestamps: true });
await vp.plug();
say(`virtual Marlin 2 printer on ${link}`);
const pl = spawn(process.execPath, [cli, "serve", "--config", join(dir, "printlog.cfg")], { stdio: ["ignore", "pipe", "inherit"] });
let url = "";
pl.stdout!.on("data", (d: Buffer) => {
  const text = d.toString();
  const m = /serving the history API on (\S+)/.exec(text);
  if (m) url = m[1]!;
  for (const line of text.split("\n")) if (/job\.(started|paused|resumed|finished|reopened)/.test(line)) say(line.replace(/^\S+\s+\S+\s+/, "").replace(/ lines=.*$/, ""));
});
const stop = async () => {
  pl.kill("SIGTERM");
  await vp.close();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
for (let i = 0; i < 100 && !url; i++) await sleep(100);
if (!url) {
  say("printlog did not start (is the port in use? set PRINTLOG_HTTP_PORT)");
  await stop();
}
await sleep(1500);
say("1/3 printing the benchy from the printer's screen ...");
vp.startPrint("BENCHY~1.GCO");
while (vp.printing) await sleep(250);
await sleep(1000);
say("2/3 printing the cube, pausing for 3 s, resuming ...");
vp.startPrint("CUBE~1.GCO");
await sleep(3000);
vp.pause();
await sleep(3000);
vp.resume();
while (vp.printing) await sleep(250);
await sleep(1000);
say("3/3 printing the vase and cancelling it on the screen ...");
vp.startPrint("VASE~1.GCO");
await sleep(3000);
vp.cancel();
await sleep(7000);
say(`done. The history: ${url.replace("localhost", "127.0.0.1")}/server/history/list  (totals: /server/history/totals)`);
say("point Mainsail or Fluidd at it, or try `printlog list --data-dir " + join(dir, "data") + "`. Ctrl-C to stop.");
