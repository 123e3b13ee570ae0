// Finding the printer: the configured path, or the first of /dev/serial/by-id/*, ttyACM*, ttyUSB*.

import { readdirSync } from "node:fs";
import { join } from "node:path";

export const AUTO_PLACES = ["/dev/serial/by-id/*", "/dev/ttyACM*", "/dev/ttyUSB*"];

function list(dir: string, prefix: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => n.startsWith(prefix))
      .sort()
      .map((n) => join(dir, n));
  } catch {
    return [];
  }
}

/** The first printer-like serial device, or null. `root` lets tests point at a scratch /dev. */
export function autoDetect(root = "/dev"): string | null {
  return list(join(root, "serial", "by-id"), "")[0] ?? list(root, "ttyACM")[0] ?? list(root, "ttyUSB")[0] ?? null;
}
