// Finds a job's file in the configured G-code directory when the printer names it only by its
// 8.3 alias (`CALIBR~1.GCO`; LONG_FILENAME_HOST_SUPPORT off) or by a long name cut at 26
// characters (M20 L with the default MAX_VFAT_ENTRIES 2): second round on Marlin 2.1.2.1.

import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { resolveInside } from "../files/gcode-dir.js";
import { readGcodeMetadata } from "../files/slicer-metadata.js";

export interface LocalFile {
  name: string;
  /** Size, mtime (`modified`) and slicer metadata. */
  metadata: Record<string, unknown>;
}

/** The file in `dir` the printer's name stands for (the name itself; else, checked by size, its
 *  8.3 alias or a long name the firmware cut short), with its metadata; null when not there. */
export async function localFileFor(dir: string, filename: string, sfn: string | null, size: number | null): Promise<LocalFile | null> {
  for (const name of [filename, sfn]) {
    if (!name) continue;
    const path = resolveInside(dir, name);
    if (!path) continue;
    // The printer's own name for it: that file (its size is the user's business).
    const meta = await readGcodeMetadata(path).catch(() => null);
    if (meta) return { name, metadata: meta };
  }
  const found = await findLocalFile(dir, filename, sfn, size);
  if (!found) return null;
  const meta = await readGcodeMetadata(join(dir, found)).catch(() => null);
  return meta ? { name: found, metadata: meta } : null;
}

/** The base of the 8.3 alias FAT derives from a long name: upper case, no spaces or dots. */
function aliasBase(long: string): { base: string; ext: string } {
  const dot = long.lastIndexOf(".");
  const stem = dot > 0 ? long.slice(0, dot) : long;
  const ext = dot > 0 ? long.slice(dot + 1) : "";
  const clean = (s: string) => s.toUpperCase().replace(/[ .]/g, "").replace(/[^A-Z0-9!#$%&'()@^_`{}~-]/g, "_");
  return { base: clean(stem), ext: clean(ext).slice(0, 3) };
}

function matches(candidate: string, filename: string, sfn: string | null): boolean {
  const c = candidate.toLowerCase();
  if (c === filename.toLowerCase() || (sfn && c === sfn.toLowerCase())) return true;
  // A long name cut short by the firmware's buffer (26 characters by default).
  if (filename.length >= 20 && !/~\d/.test(filename) && c.startsWith(filename.toLowerCase()) && c.length > filename.length) return true;
  for (const alias of [sfn, filename]) {
    const m = alias ? /^([^~.]{1,7})~\d{1,6}\.([^.]{1,3})$/i.exec(alias) : null;
    if (!m) continue;
    const a = aliasBase(candidate);
    if (a.base.startsWith(m[1]!.toUpperCase()) && a.ext === m[2]!.toUpperCase()) return true;
  }
  return false;
}

/** The name of the one file in `dir` (top level) that the printer's name stands for, checked
 *  by size when the size is known; null when none or more than one fits. */
export async function findLocalFile(dir: string, filename: string, sfn: string | null, size: number | null): Promise<string | null> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return null;
  }
  const fits: string[] = [];
  for (const name of names) {
    if (!matches(name, filename, sfn)) continue;
    if (size !== null) {
      const st = await stat(join(dir, name)).catch(() => null);
      if (!st?.isFile() || st.size !== size) continue;
    }
    fits.push(name);
  }
  if (fits.length === 1) return fits[0]!;
  // An exact name wins over aliases that happen to fit too.
  return fits.find((n) => n.toLowerCase() === filename.toLowerCase()) ?? null;
}
