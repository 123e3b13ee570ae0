// Durability primitives the journal and snapshot share: fsync'd writes and directory fsync.
// Atomic is not durable: rename alone can leave an empty file after power loss, so every
// replacement is write temp -> fsync -> rename -> fsync directory.

import { copyFile, open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";

/** Flushes a directory entry (a rename or a create) to disk. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } catch (err) {
    // Some filesystems (e.g. certain FUSE mounts) refuse fsync on directories; the rename is
    // then as durable as that filesystem allows.
    if ((err as NodeJS.ErrnoException).code !== "EINVAL") throw err;
  } finally {
    await handle.close();
  }
}

/** Replaces `path` with `data` durably. A crash at any step leaves the old or the new file whole. */
export async function writeFileDurable(path: string, data: string): Promise<number> {
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, "w", 0o644);
  let bytes = 0;
  try {
    const buf = Buffer.from(data, "utf8");
    bytes = buf.length;
    await handle.writeFile(buf);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  await rename(tmp, path);
  await fsyncDir(dirname(path));
  return bytes;
}

/** Copies `from` to `to` with the copy and its directory entry on disk when it resolves. */
export async function copyDurably(from: string, to: string): Promise<void> {
  await copyFile(from, to);
  const h = await open(to, "r+");
  try {
    await h.sync();
  } finally {
    await h.close();
  }
  await fsyncDir(dirname(to));
}
