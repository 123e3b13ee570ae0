// Slicer thumbnails as Moonraker names and stores them: `<dir>/.thumbs/<base>-<W>x<H>.<ext>`
// beside the G-code, `relative_path` relative to the G-code's directory; QOI becomes PNG. When
// gcode_dir is read-only (or its .thumbs leads outside it) they go to a cache in the data dir.

import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, extname, join, posix } from "node:path";
import { resolveInside, resolveReal } from "./gcode-dir.js";
import type { RawThumbnail } from "./gcode-scan.js";
import { qoiToPng } from "./qoi-png.js";
import { miniaturePng } from "./png-shrink.js";

export interface ThumbnailEntry {
  width: number;
  height: number;
  size: number;
  relative_path: string;
}

export interface PreparedThumbnail {
  entry: ThumbnailEntry;
  /** The file name inside `.thumbs`. */
  name: string;
  bytes: Buffer;
}

export const GCODE_EXTENSIONS = [".gcode", ".g", ".gco"];

/** Pure: names and bytes of a G-code file's thumbnails (QOI converted; undecodable ones dropped). */
export function prepareThumbnails(gcodeName: string, raw: RawThumbnail[]): PreparedThumbnail[] {
  const base = basename(gcodeName, extname(gcodeName));
  const out: PreparedThumbnail[] = [];
  for (const t of raw) {
    let bytes = t.data;
    let ext: string = t.format;
    if (t.format === "qoi") {
      try {
        bytes = qoiToPng(t.data);
      } catch {
        continue;
      }
      ext = "png";
    }
    const name = `${base}-${t.width}x${t.height}.${ext}`;
    out.push({ name, bytes, entry: { width: t.width, height: t.height, size: bytes.length, relative_path: posix.join(".thumbs", name) } });
  }
  // As Moonraker: without a 32x32 thumbnail, the largest one is scaled to fit 32x32 and listed
  // first (Mainsail's file and history lists show only a thumbnail of 30 to 64 pixels). JPEGs
  // cannot be decoded here, so the largest PNG is used.
  if (!out.some((t) => t.entry.width === 32 && t.entry.height === 32)) {
    const largest = out.filter((t) => t.name.endsWith(".png")).sort((a, b) => b.bytes.length - a.bytes.length)[0];
    if (largest) {
      try {
        const mini = miniaturePng(largest.bytes);
        const name = `${base}-32x32.png`;
        out.unshift({ name, bytes: mini.bytes, entry: { width: mini.width, height: mini.height, size: mini.bytes.length, relative_path: posix.join(".thumbs", name) } });
      } catch {
        // an image printlog cannot decode (interlaced, too large): no miniature, as when Pillow fails
      }
    }
  }
  return out;
}

/** Which G-code file a `.thumbs/<base>-WxH.ext` request belongs to: candidates in the parent dir. */
export function gcodeCandidatesForThumb(thumbRel: string): string[] {
  const m = /^(?:(.*)\/)?\.thumbs\/([^/]+)-\d{1,5}x\d{1,5}\.(?:png|jpg)$/i.exec(thumbRel);
  if (!m) return [];
  const dir = m[1] ? `${m[1]}/` : "";
  return GCODE_EXTENSIONS.map((ext) => `${dir}${m[2]}${ext}`);
}

export class ThumbnailStore {
  constructor(
    private readonly gcodeDir: string,
    private readonly cacheDir: string,
  ) {}

  /** The cache's copy of a `.thumbs` directory (read-only gcode_dir), if it exists. */
  cachedDir(relDir: string): string | null {
    return resolveReal(this.cacheDir, relDir);
  }

  /** Where a thumbnail may be found: in gcode_dir first, then in the cache. */
  locate(thumbRel: string): string | null {
    return resolveReal(this.gcodeDir, thumbRel) ?? resolveReal(this.cacheDir, thumbRel);
  }

  /**
   * Writes the thumbnails of the G-code file `gcodeRel` unless an up-to-date copy exists.
   * Each file is written to a temporary name and renamed, so a reader never sees half a PNG.
   */
  async write(gcodeRel: string, gcodeMtimeMs: number, thumbs: PreparedThumbnail[]): Promise<void> {
    if (thumbs.length === 0) return;
    const relDir = posix.join(posix.dirname(gcodeRel), ".thumbs");
    const target = (await this.usableDir(this.gcodeDir, relDir)) ?? (await this.usableDir(this.cacheDir, relDir));
    if (!target) return;
    for (const t of thumbs) {
      const path = join(target, t.name);
      const st = await stat(path).catch(() => null);
      if (st && st.isFile() && st.mtimeMs >= gcodeMtimeMs && st.size === t.bytes.length) continue;
      const tmp = `${path}.${process.pid}.tmp`;
      try {
        await writeFile(tmp, t.bytes);
        await rename(tmp, path);
      } catch {
        // a full or read-only disk: the thumbnail is simply not there
      }
    }
  }

  /** The real `.thumbs` directory under `root`, created when missing, if writable and inside. */
  private async usableDir(root: string, relDir: string): Promise<string | null> {
    try {
      await mkdir(root, { recursive: true }); // the cache's root on first use (gcode_dir exists)
      const lexical = resolveInside(root, relDir);
      if (!lexical) return null;
      await mkdir(lexical, { recursive: true });
      const real = resolveReal(root, relDir);
      if (!real) return null; // .thumbs (or a parent) is a link leading outside the root
      const probe = join(real, `.printlog-probe-${process.pid}`);
      await writeFile(probe, "");
      await rm(probe, { force: true });
      return real;
    } catch {
      return null;
    }
  }
}
