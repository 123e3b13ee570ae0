// The configured local G-code directory, if any: file existence for `exists`, safely resolved
// (a job's filename comes from the wire and must never escape the directory).

import { statSync } from "node:fs";
import { resolve, sep } from "node:path";

export function resolveInside(root: string, relative: string): string | null {
  if (relative.includes("\0")) return null;
  const base = resolve(root);
  const full = resolve(base, relative.replace(/^\/+/, ""));
  return full === base || full.startsWith(base + sep) ? full : null;
}

/**
 * Moonraker's check_file_exists: the file is there and, when the job's metadata recorded a
 * modification time, it still has it. Files known only on the printer's SD card count too.
 */
export function makeExistence(gcodeDir: string | null, onPrinterCard: (filename: string) => boolean) {
  return (filename: string, metadata: Record<string, unknown>): boolean => {
    if (gcodeDir) {
      const full = resolveInside(gcodeDir, filename);
      if (full) {
        try {
          const st = statSync(full);
          const modified = metadata["modified"];
          if (st.isFile() && (typeof modified !== "number" || Math.abs(st.mtimeMs / 1000 - modified) < 0.001)) return true;
        } catch {
          // not in the directory: maybe on the printer's card
        }
      }
    }
    return onPrinterCard(filename);
  };
}
