// The API key file (`data_dir/api_key`, mode 600): read it, or generate a key and write it
// durably (temp -> fsync -> rename -> fsync directory) so a power cut cannot leave it empty and
// silently change the key remote clients were given. A replaced key is always logged.

import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log.js";

const MIN_KEY = 16;

async function writeKeyDurably(dataDir: string, path: string, key: string): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, "w", 0o600);
  try {
    await handle.writeFile(`${key}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const dir = await open(dataDir, "r");
  try {
    await dir.sync();
  } catch (err) {
    // Some filesystems refuse fsync on a directory; the rename is then as durable as they allow.
    if ((err as NodeJS.ErrnoException).code !== "EINVAL") throw err;
  } finally {
    await dir.close();
  }
}

/** The API key: configured, else kept in `data_dir/api_key`, generated when missing or unusable. */
export async function loadApiKey(dataDir: string, configured: string | null, logger?: Logger): Promise<string> {
  if (configured) return configured;
  const path = join(dataDir, "api_key");
  let why = "no key file yet";
  try {
    const text = await readFile(path, "utf8");
    const key = text.trim();
    if (key.length >= MIN_KEY && !/\s/.test(key)) return key;
    why = text.length === 0 ? "the key file was empty" : `the key file held no usable key (${key.length} characters)`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT") why = `the key file could not be read (${code ?? (err as Error).message})`;
  }
  const key = randomBytes(16).toString("hex");
  try {
    await writeKeyDurably(dataDir, path, key);
    const level = why === "no key file yet" ? "info" : "warn";
    logger?.[level]("api_key.generated", { path, reason: why, ...(level === "warn" ? { note: "the key was replaced: remote clients need the new one" } : {}) });
  } catch (err) {
    // A read-only data directory: this key lasts until printlog restarts (trusted clients
    // need none); the store reports the directory's state itself.
    logger?.warn("api_key.not_saved", { path, reason: why, error: (err as Error).message, note: "a new key is generated at every start" });
  }
  return key;
}
