// server.files.metadata's source: each G-code file in gcode_dir read once per (size, mtime),
// cached, its thumbnails extracted; the job fields (`job_id`, `print_start_time`) come from the
// history at answer time, as Moonraker updates them when a print of the file starts.

import { relative } from "node:path";
import { realpathSync } from "node:fs";
import { stat } from "node:fs/promises";
import { resolveReal } from "./gcode-dir.js";
import { readGcodeFile } from "./slicer-metadata.js";
import { GCODE_EXTENSIONS, ThumbnailStore, gcodeCandidatesForThumb } from "./thumbnails.js";

/** Cached entries; past this the oldest are forgotten (and re-read when asked again). */
const MAX_CACHED = 5000;
/** Files waiting for a background read (one at a time, so a big directory never floods the disk). */
const MAX_QUEUED = 10_000;

export interface LastPrint {
  job_id: string;
  start_time: number;
}

interface Entry {
  size: number;
  mtimeMs: number;
  meta: Record<string, unknown>;
}

export const isGcodeName = (name: string): boolean => GCODE_EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext));

export class GcodeFiles {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Entry | null>>();
  private readonly queue = new Set<string>();
  private draining = false;
  readonly thumbs: ThumbnailStore;

  constructor(
    readonly root: string,
    cacheDir: string,
    private readonly lastPrint: (filename: string) => LastPrint | null,
  ) {
    this.thumbs = new ThumbnailStore(root, cacheDir);
  }

  /** The path relative to the root's real path, or null when outside / missing. */
  private realRel(rel: string): { full: string; rel: string } | null {
    const full = resolveReal(this.root, rel);
    if (!full) return null;
    let base: string;
    try {
      base = realpathSync(this.root);
    } catch {
      return null;
    }
    return { full, rel: relative(base, full).split("\\").join("/") };
  }

  /** Moonraker's metadata object for a G-code file, or null when there is none. */
  async metadata(rel: string, rescan = false): Promise<Record<string, unknown> | null> {
    if (!isGcodeName(rel)) return null;
    const found = this.realRel(rel);
    if (!found) return null;
    if (rescan) this.cache.delete(found.full);
    const entry = await this.entry(found.full, found.rel);
    if (!entry) return null;
    const last = this.lastPrint(rel);
    return { ...entry.meta, print_start_time: last?.start_time ?? null, job_id: last?.job_id ?? null, filename: rel };
  }

  /** Cached metadata only (no file read): for large directory listings. */
  cached(rel: string): Record<string, unknown> | null {
    const found = this.realRel(rel);
    const entry = found ? this.cache.get(found.full) : undefined;
    if (!entry) return null;
    const last = this.lastPrint(rel);
    return { ...entry.meta, print_start_time: last?.start_time ?? null, job_id: last?.job_id ?? null };
  }

  private entry(full: string, rel: string): Promise<Entry | null> {
    const running = this.inflight.get(full);
    if (running) return running;
    const p = (async () => {
      const st = await stat(full).catch(() => null);
      const old = this.cache.get(full);
      if (st && old && old.size === st.size && old.mtimeMs === st.mtimeMs) return old;
      const data = st?.isFile() ? await readGcodeFile(full).catch(() => null) : null;
      if (!data) {
        this.cache.delete(full);
        return null;
      }
      await this.thumbs.write(rel, data.mtimeMs, data.thumbnails);
      const entry = { size: data.meta["size"] as number, mtimeMs: data.mtimeMs, meta: data.meta };
      this.cache.set(full, entry);
      if (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
      return entry;
    })().finally(() => this.inflight.delete(full));
    this.inflight.set(full, p);
    return p;
  }

  /**
   * Reads these files' metadata in the background, one after the other (Moonraker scans gcode_dir
   * at start; printlog does it as directories are listed), so the next listing carries it.
   */
  prefetch(rels: string[]): void {
    for (const r of rels) if (this.queue.size < MAX_QUEUED) this.queue.add(r);
    if (this.draining) return;
    this.draining = true;
    void (async () => {
      while (this.queue.size > 0) {
        const next = this.queue.values().next().value!;
        this.queue.delete(next);
        await this.metadata(next).catch(() => null);
      }
      this.draining = false;
    })();
  }

  /** A thumbnail's real path; extracted from its G-code file on first request. */
  async thumbnail(thumbRel: string): Promise<string | null> {
    const have = this.thumbs.locate(thumbRel);
    if (have) return have;
    const name = thumbRel.split("/").pop();
    for (const gcode of gcodeCandidatesForThumb(thumbRel)) {
      const meta = await this.metadata(gcode);
      const listed = Array.isArray(meta?.["thumbnails"]) && (meta["thumbnails"] as { relative_path: string }[]).some((t) => t.relative_path === `.thumbs/${name}`);
      if (!listed) continue;
      // Listed but gone (deleted by hand, or the cache was cleared): extract again.
      if (!this.thumbs.locate(thumbRel)) await this.metadata(gcode, true);
      return this.thumbs.locate(thumbRel);
    }
    return null;
  }
}
