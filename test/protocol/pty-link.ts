// A PrinterLink on one end of a real pseudo-terminal pair (socat), the test playing the printer
// on the other end through a non-blocking descriptor.

import { spawn } from "node:child_process";
import { closeSync, constants, existsSync, openSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { PrinterLink } from "../../src/serial/link.js";
import { silentLogger } from "../../src/log.js";
import { sleep, tempDir } from "../helpers.js";

export async function linkOverPty(t: TestContext, commandTimeoutMs: number): Promise<{ link: PrinterLink; fd: number }> {
  const dir = await tempDir(t);
  const host = join(dir, "host");
  const printer = join(dir, "printer");
  const socat = spawn("socat", [`PTY,link=${host},raw,echo=0`, `PTY,link=${printer},raw,echo=0`], { stdio: "ignore" });
  t.after(() => socat.kill("SIGTERM"));
  for (let i = 0; i < 200 && !(existsSync(host) && existsSync(printer)); i++) await sleep(25);
  // Non-blocking: a read with nothing written must not block the test's event loop.
  const fd = openSync(printer, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOCTTY);
  t.after(() => closeSync(fd));
  const link = new PrinterLink({ device: host, bauds: [115200], logger: silentLogger, commandTimeoutMs });
  const opened = new Promise<void>((r) => link.on("open", () => r()));
  link.start();
  t.after(() => link.stop());
  await opened;
  return { link, fd };
}
