// Moonraker's file manager as printlog can honestly offer it: gcode_dir read-only (listings,
// downloads, slicer metadata and thumbnails, metascan), the `logs` root holding printlog's
// recent log, and clear 403s for everything that would write (uploads, deletes, moves).
// Every path is resolved to its real path and must stay inside its root (symbolic links too).

import { createReadStream, readdirSync, statfsSync, statSync, type Dirent, type Stats } from "node:fs";
import { Readable } from "node:stream";
import { join } from "node:path";
import type { Hono } from "hono";
import { resolveReal } from "../files/gcode-dir.js";
import { isGcodeName, type GcodeFiles } from "../files/file-metadata.js";
import type { LogRing } from "../files/log-ring.js";
import { ApiError, badRequest, notFound } from "./errors.js";
import type { ApiMethod, MethodTable } from "./methods.js";
import { ROOTS } from "./server-methods.js";

export interface FileContext {
  gcodeDir: string | null;
  /** Whose file system the roots without a directory of their own report as disk usage. */
  dataDir: string;
  gcodeFiles: GcodeFiles | null;
  log: LogRing;
}

/** The name the clients' log buttons fetch (`/server/files/moonraker.log`, `logs/moonraker.log`). */
export const LOG_FILE = "moonraker.log";
const MAX_LISTED = 10_000;
/** Files read for metadata while an extended listing waits; the rest are read in the background. */
const MAX_SCANNED_PER_LISTING = 20;
const READ_ONLY = "printlog does not change files: the G-code directory is read-only (printlog records jobs, it does not print them)";

const forbidden = (message = READ_ONLY) => new ApiError("forbidden", message);

function splitPath(path: string): { root: string; rel: string } {
  const clean = path.replace(/^\/+|\/+$/g, "");
  const slash = clean.indexOf("/");
  return slash === -1 ? { root: clean, rel: "" } : { root: clean.slice(0, slash), rel: clean.slice(slash + 1) };
}

/** stat that answers undefined for anything unreadable (permissions, races), never throws. */
function safeStat(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function diskUsage(dir: string): { total: number; used: number; free: number } | null {
  try {
    const fs = statfsSync(dir);
    return { total: fs.blocks * fs.bsize, used: (fs.blocks - fs.bfree) * fs.bsize, free: fs.bavail * fs.bsize };
  } catch {
    return null;
  }
}

function requireRoot(root: string): void {
  if (!ROOTS.includes(root)) throw badRequest(`Invalid root path (${root})`);
}

function listFiles(base: string, rel: string, out: Record<string, unknown>[], seen = new Set<string>()): void {
  const dir = resolveReal(base, rel);
  // A link back to a directory already listed (a loop inside the root) is listed once.
  if (!dir || seen.has(dir)) return;
  seen.add(dir);
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (out.length >= MAX_LISTED) return;
    if (e.name.startsWith(".")) continue;
    const path = rel ? `${rel}/${e.name}` : e.name;
    // Links are followed only when their target stays inside the root.
    const full = resolveReal(base, path);
    if (!full) continue;
    const st = safeStat(full);
    if (!st) continue;
    if (st.isDirectory() && rel.split("/").length < 32) listFiles(base, path, out, seen);
    else if (st.isFile()) out.push({ path, modified: st.mtimeMs / 1000, size: st.size, permissions: "r" });
  }
}

export function fileMethods(ctx: FileContext): ApiMethod[] {
  const files = ctx.gcodeFiles;
  const logEntry = () => ({ filename: LOG_FILE, modified: ctx.log.modified, size: ctx.log.size, permissions: "r" });
  const gcodeArg = (name: string) => name.replace(/^\/+/, "").replace(/^gcodes\//, "");
  return [
    {
      rpc: "server.files.roots",
      http: { verb: "GET", path: "/server/files/roots" },
      handler: () => ROOTS.map((name) => ({ name, path: name === "gcodes" ? ctx.gcodeDir ?? "" : "", permissions: "r" })),
    },
    {
      rpc: "server.files.list",
      http: { verb: "GET", path: "/server/files/list" },
      handler: (args) => {
        const root = args.str("root", "gcodes");
        requireRoot(root);
        const out: Record<string, unknown>[] = [];
        if (root === "gcodes" && ctx.gcodeDir) listFiles(ctx.gcodeDir, "", out);
        if (root === "logs") out.push({ path: LOG_FILE, modified: ctx.log.modified, size: ctx.log.size, permissions: "r" });
        return out;
      },
    },
    {
      rpc: "server.files.get_directory",
      http: { verb: "GET", path: "/server/files/directory" },
      handler: async (args) => {
        const { root, rel } = splitPath(args.str("path", "gcodes"));
        requireRoot(root);
        const extended = args.bool("extended", false);
        const dirs: Record<string, unknown>[] = [];
        const out: Record<string, unknown>[] = [];
        let disk = { total: 0, used: 0, free: 0 };
        const base = root === "gcodes" ? ctx.gcodeDir : null;
        disk = diskUsage(base ?? ctx.dataDir) ?? disk;
        if (root === "logs" && rel === "") out.push(logEntry());
        if (base) {
          const full = resolveReal(base, rel);
          const isThumbs = /(^|\/)\.thumbs$/.test(rel);
          let entries: Dirent[] = [];
          try {
            if (!full) throw new Error("outside");
            entries = readdirSync(full, { withFileTypes: true });
          } catch {
            // `.thumbs` may exist only in the cache (read-only gcode_dir) or not yet: empty, not an error.
            if (rel !== "" && !isThumbs) throw notFound(`Directory does not exist (${root}/${rel})`);
          }
          const cached = isThumbs && files ? files.thumbs.cachedDir(rel) : null;
          const fromCache = new Set<string>();
          if (cached) {
            const have = new Set(entries.map((e) => e.name));
            let cachedEntries: Dirent[] = [];
            try {
              cachedEntries = readdirSync(cached, { withFileTypes: true });
            } catch {
              // not a readable directory: nothing cached
            }
            for (const e of cachedEntries) {
              if (have.has(e.name) || !e.isFile() || e.name.endsWith(".tmp")) continue;
              entries.push(e);
              fromCache.add(e.name);
            }
          }
          let scanned = 0;
          const later: string[] = [];
          for (const e of entries.slice(0, MAX_LISTED)) {
            const childRel = rel ? `${rel}/${e.name}` : e.name;
            const real = fromCache.has(e.name) ? join(cached!, e.name) : resolveReal(base, childRel);
            if (!real) continue; // a link leading outside gcode_dir is not shown
            const st = safeStat(real);
            if (!st) continue;
            const item = { modified: st.mtimeMs / 1000, size: st.size, permissions: "r" };
            if (st.isDirectory()) dirs.push({ dirname: e.name, ...item });
            else if (st.isFile()) {
              let meta: Record<string, unknown> | null = null;
              if (extended && files && isGcodeName(e.name)) {
                meta = files.cached(childRel);
                if (!meta && scanned < MAX_SCANNED_PER_LISTING) {
                  scanned += 1;
                  meta = await files.metadata(childRel);
                } else if (!meta) later.push(childRel);
              }
              out.push({ filename: e.name, ...item, ...(meta ? stripForListing(meta) : {}) });
            }
          }
          if (later.length > 0) files?.prefetch(later);
        }
        return { dirs, files: out, disk_usage: disk, root_info: { name: root, permissions: "r" } };
      },
    },
    {
      rpc: "server.files.metadata",
      http: { verb: "GET", path: "/server/files/metadata" },
      handler: async (args) => {
        const name = gcodeArg(args.str("filename"));
        const meta = files ? await files.metadata(name) : null;
        if (!meta) throw notFound(`Metadata not available for <${name}>`);
        return meta;
      },
    },
    {
      rpc: "server.files.metascan",
      http: { verb: "POST", path: "/server/files/metascan" },
      handler: async (args) => {
        const name = gcodeArg(args.str("filename"));
        const real = ctx.gcodeDir ? resolveReal(ctx.gcodeDir, name) : null;
        if (!real || !safeStat(real)?.isFile()) throw notFound(`File '${name}' does not exist`);
        if (!isGcodeName(name)) throw badRequest(`File ${name} is not a valid gcode file`);
        const meta = files ? await files.metadata(name, true) : null;
        if (!meta) throw new ApiError("internal", `Failed to parse metadata for file '${name}'`);
        return meta;
      },
    },
    {
      rpc: "server.files.thumbnails",
      http: { verb: "GET", path: "/server/files/thumbnails" },
      handler: async (args) => {
        const name = gcodeArg(args.str("filename"));
        const meta = files ? await files.metadata(name) : null;
        const list = Array.isArray(meta?.["thumbnails"]) ? (meta["thumbnails"] as Record<string, unknown>[]) : [];
        const dir = name.includes("/") ? name.slice(0, name.lastIndexOf("/") + 1) : "";
        return list.map(({ relative_path, ...t }) => ({ ...t, thumbnail_path: `${dir}${String(relative_path)}` }));
      },
    },
    // Writes: refused with a clear 403 (the roots say "r", so the clients hide these actions).
    { rpc: "server.files.upload", http: { verb: "POST", path: "/server/files/upload" }, handler: () => { throw forbidden(); } },
    { rpc: "server.files.post_directory", http: { verb: "POST", path: "/server/files/directory" }, handler: () => { throw forbidden(); } },
    { rpc: "server.files.delete_directory", http: { verb: "DELETE", path: "/server/files/directory" }, handler: () => { throw forbidden(); } },
    { rpc: "server.files.move", http: { verb: "POST", path: "/server/files/move" }, handler: () => { throw forbidden(); } },
    { rpc: "server.files.copy", http: { verb: "POST", path: "/server/files/copy" }, handler: () => { throw forbidden(); } },
    { rpc: "server.files.zip", http: { verb: "POST", path: "/server/files/zip" }, handler: () => { throw forbidden(); } },
    { rpc: "server.files.delete_file", handler: () => { throw forbidden(); } },
  ];
}

/** Listing entries carry the metadata fields but not the file name Moonraker adds to metadata. */
function stripForListing(meta: Record<string, unknown>): Record<string, unknown> {
  const { filename: _f, ...rest } = meta;
  return rest;
}

const contentType = (path: string) =>
  /\.png$/i.test(path) ? "image/png" : /\.jpe?g$/i.test(path) ? "image/jpeg" : /\.json$/i.test(path) ? "application/json" : "text/plain; charset=utf-8";

/** GET /server/files/<root>/<path>: the file when printlog has it (G-codes, thumbnails, the log), else a JSON 404. */
export async function fileResponse(ctx: FileContext, path: string): Promise<Response> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw badRequest("Malformed percent-encoding in the file path");
  }
  // Linux's limits (NAME_MAX 255 bytes a name, PATH_MAX 4096): a longer name cannot exist.
  if (Buffer.byteLength(decoded) > 4096 || decoded.split("/").some((part) => Buffer.byteLength(part) > 255)) {
    throw badRequest("Path too long");
  }
  const { root, rel } = splitPath(decoded);
  const shown = rel ? `${root}/${rel}` : root;
  // Moonraker's older log paths, still what Mainsail's "Moonraker log" button opens.
  if ((root === LOG_FILE && rel === "") || (root === "logs" && rel === LOG_FILE)) {
    return new Response(ctx.log.text(), { status: 200, headers: { "Content-Type": "text/plain; charset=utf-8" } });
  }
  if (root === "klippy.log" && rel === "") throw notFound("File not found: klippy.log (printlog is not Klipper)");
  let full: string | null = null;
  if (root === "gcodes" && ctx.gcodeDir && rel) {
    full = resolveReal(ctx.gcodeDir, rel);
    if (!full && /(^|\/)\.thumbs\//.test(rel) && ctx.gcodeFiles) full = await ctx.gcodeFiles.thumbnail(rel);
  }
  const st = full ? safeStat(full) : undefined;
  if (!full || !st?.isFile()) throw notFound(`File not found: ${shown}`);
  return new Response(Readable.toWeb(createReadStream(full)) as ReadableStream, { status: 200, headers: { "Content-Type": contentType(full), "Content-Length": String(st.size) } });
}

/** Mounts file downloads (GET) and refused deletes (DELETE) under /server/files/, after the table's own endpoints. */
export function mountFiles(app: Hono, table: MethodTable, ctx: FileContext): void {
  app.on(["GET", "DELETE"], "/server/files/*", async (c, next) => {
    if (table.path(c.req.path)) return next();
    const rest = c.req.path.slice("/server/files/".length);
    if (c.req.method === "DELETE") {
      if (rest === "") return next();
      throw forbidden();
    }
    return fileResponse(ctx, rest);
  });
}
