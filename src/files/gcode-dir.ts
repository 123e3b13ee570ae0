// The configured local G-code directory, if any: file existence for `exists`, safely resolved
// (a job's filename and every request path come from the wire and must never escape the
// directory — neither lexically with `..` nor through a symbolic link pointing outside).

import { realpathSync, statSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";

const within = (base: string, full: string) => full === base || full.startsWith(base + sep);

function lexicalInside(root: string, relative: string): string | null {
  if (relative.includes("\0")) return null;
  const base = resolve(root);
  const full = resolve(base, relative.replace(/^\/+/, ""));
  return within(base, full) ? full : null;
}

/**
 * `relative` joined to `root`, staying under it: lexically (no `..` out) and, when the path
 * exists, also by its real path (no symbolic link out). A path that does not exist yet is
 * returned as joined (a place to create something, or a file that is simply not there).
 */
export function resolveInside(root: string, relative: string): string | null {
  const full = lexicalInside(root, relative);
  if (!full) return null;
  try {
    const base = realpathSync(resolve(root));
    // The path, or for one not there yet its nearest existing ancestor, must really be inside.
    for (let p = full; ; p = dirname(p)) {
      try {
        return within(base, realpathSync(p)) ? full : null;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT" || p === dirname(p)) return null;
      }
    }
  } catch {
    return null;
  }
}

/**
 * The real path of `relative` under `root`, after following every symbolic link, or null when it
 * does not exist or its real path lies outside the root's real path (a link such as
 * `etc -> /etc` inside gcode_dir is refused, as is any `..`).
 */
export function resolveReal(root: string, relative: string): string | null {
  const lexical = lexicalInside(root, relative);
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
