// A consistent copy of a live data directory. A compaction renames the document and then
// restarts the journal, and never rewrites committed bytes of the job files; so a document read,
// the files it names opened, the journal read, and the document read again unchanged, are one
// consistent state. Only the committed lengths of the job files are copied.

import { mkdir, open, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fsyncDir } from "./durable-file.js";
import { HistoryError } from "./errors.js";
import { indexFileName, jobsFileName, type FilesState } from "./job-files.js";
import { parseSnapshot } from "./snapshot-file.js";

const ATTEMPTS = 20;

interface Copied {
  name: string;
  files: string[];
  bytes: number;
}

async function readOrNull(path: string): Promise<string | null> {
  return readFile(path, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return null;
    throw e;
  });
}

async function writeSynced(path: string, data: Buffer | string): Promise<void> {
  const h = await open(path, "wx", 0o644);
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Copies the first `n` bytes of an open file, 1 MiB at a time (a job file can be gigabytes). */
async function copyPrefix(from: Awaited<ReturnType<typeof open>>, fromPath: string, to: string, n: number): Promise<void> {
  const out = await open(to, "wx", 0o644);
  try {
    const buf = Buffer.allocUnsafe(Math.min(n, 1024 * 1024));
    for (let at = 0; at < n; ) {
      const want = Math.min(buf.length, n - at);
      const { bytesRead } = await from.read(buf, 0, want, at);
      if (bytesRead === 0) throw new HistoryError("snapshot_corrupt", `${fromPath} is shorter than its document says`);
      await out.write(buf, 0, bytesRead, at);
      at += bytesRead;
    }
    await out.sync();
  } finally {
    await out.close();
  }
}

/** Copies one store (`history` or `database`) from `dir` to `dest`. */
async function copyStore(dir: string, dest: string, name: string): Promise<Copied | null> {
  const docPath = join(dir, `${name}.json`);
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const doc = await readOrNull(docPath);
    const journalText = doc === null ? await readOrNull(join(dir, `${name}.jsonl`)) : null;
    if (doc === null) {
      if (journalText === null) return null;
      // A directory that never compacted (format 1): the journal alone.
      await writeSynced(join(dest, `${name}.jsonl`), journalText);
      return { name, files: [`${name}.jsonl`], bytes: Buffer.byteLength(journalText) };
    }
    const snap = parseSnapshot<{ files?: FilesState | null }>(doc, docPath);
    const files = snap.format === 2 ? (snap.state.files ?? null) : null;
    const handles: { file: string; bytes: number; h: Awaited<ReturnType<typeof open>> }[] = [];
    try {
      if (files) {
        for (const [file, bytes] of [
          [jobsFileName(files.gen), files.jobsBytes],
          [indexFileName(files.gen, files.indexGen), files.indexBytes],
        ] as const) {
          handles.push({ file, bytes, h: await open(join(dir, file), "r") });
        }
      }
      const journal = await readOrNull(join(dir, `${name}.jsonl`));
      if ((await readOrNull(docPath)) !== doc) continue; // compacted meanwhile: again
      let bytes = 0;
      for (const { file, bytes: n, h } of handles) {
        await copyPrefix(h, join(dir, file), join(dest, file), n);
        bytes += n;
      }
      await writeSynced(join(dest, `${name}.json`), doc);
      if (journal !== null) await writeSynced(join(dest, `${name}.jsonl`), journal);
      bytes += Buffer.byteLength(doc) + Buffer.byteLength(journal ?? "");
      return { name, files: [...handles.map((x) => x.file), `${name}.json`, ...(journal !== null ? [`${name}.jsonl`] : [])], bytes };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue; // a generation replaced meanwhile
      throw e;
    } finally {
      for (const { h } of handles) await h.close();
    }
  }
  throw new HistoryError("storage_failed", `could not get a consistent copy of ${docPath} in ${ATTEMPTS} attempts (compacting continuously?)`);
}

/** Copies the history and the database of `dir` into the new, empty directory `dest`. */
export async function backupDataDir(dir: string, dest: string): Promise<Copied[]> {
  await mkdir(dest, { recursive: true });
  const existing = await readdir(dest);
  if (existing.length > 0) throw new HistoryError("storage_failed", `${dest} is not empty: a backup goes into a new or empty directory`);
  const out: Copied[] = [];
  for (const name of ["history", "database"]) {
    const c = await copyStore(dir, dest, name);
    if (c) out.push(c);
  }
  await writeFile(join(dest, "BACKUP"), `printlog backup of ${dir} at ${new Date().toISOString()}\n`);
  await fsyncDir(dest);
  return out;
}
