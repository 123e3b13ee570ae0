// The configured local G-code directory, if any: file existence for `exists`, safely resolved
// (a job's filename and every request path come from the wire and must never escape the
// directory — neither lexically with `..` nor through a symbolic link pointing outside).

import { realpathSync, statSync } from "node:fs";
import { resolve, sep } from "node:path";

/** Lexical containment only: `relative` joined to `root` stays under it (the path need not exist). */
export function resolveInside(root: string, relative: string): string | null {
  if (relative.includes("\0")) return null;
  const base = resolve(root);
  const full = resolve(base, relative.replace(/^\/+/, ""));
  return full === base || full.startsWith(base + sep) ? full : null;
}

const within = (base: string, full: string) => full === base || full.startsWith(base + sep);

/**
 * The real path of `relative` under `root`, after following every symbolic link, or null when it
 * does not exist or its real path lies outside the root's real path (a link such as
 * `etc -> /etc` inside gcode_dir is refused, as is any `..`).
 */
export function resolveReal(root: string, relative: string): string | null {
  const lexical = resolveInside(root, relative);
  if (!lexical) return null;
  try {
    const base = realpathSync(resolve(root));
    const real = realpathSync(lexical);
    return within(base, real) ? real : null;
  } catch {
    return null; // missing, a loop, too long, not a directory on the way
  }
}

/**
 * Moonraker's check_file_exists: the file is there and, when the job's metadata recorded a
 * modification time, it still has it. Files known only on the printer's SD card count too.
 */
export function makeExistence(gcodeDir: string | null, onPrinterCard: (filename: string) => boolean) {
  return (filename: string, metadata: Record<string, unknown>): boolean => {
    if (gcodeDir) {
      const full = resolveReal(gcodeDir, filename);
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
