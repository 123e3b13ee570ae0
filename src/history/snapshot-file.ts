// lowdb adapter for the compacted document. lowdb's own TextFile (steno) renames without fsync,
// which loses the file on power loss (lowdb#549); this one writes temp -> fsync -> rename -> fsync
// dir, and stores the document as one checksummed line so a changed byte is detected.

import { readFile } from "node:fs/promises";
import type { Adapter } from "lowdb";
import { writeFileDurable } from "./durable-file.js";
import { HistoryError } from "./errors.js";
import { decodeLine, encodeLine } from "./line-codec.js";

export interface SnapshotData<S> {
  /** 2 for this format; 1 for a document written before checksums (read once, to migrate). */
  format: 1 | 2;
  /** Last journal sequence number folded into `state`; journal records up to it are skipped. */
  seq: number;
  /** The previous compaction's `seq`: the journal being compacted was started after it. */
  prevSeq: number;
  state: S;
}

export class DurableJsonFile<S> implements Adapter<SnapshotData<S>> {
  lastWriteBytes = 0;
  constructor(readonly path: string) {}

  async read(): Promise<SnapshotData<S> | null> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    return parseSnapshot<S>(text, this.path);
  }

  async write(data: SnapshotData<S>): Promise<void> {
    this.lastWriteBytes = await writeFileDurable(this.path, encodeSnapshot(data) + "\n");
  }
}

export function encodeSnapshot<S>(data: SnapshotData<S>): string {
  return encodeLine({ seq: data.seq, prevSeq: data.prevSeq, state: data.state });
}

export function parseSnapshot<S>(text: string, path: string): SnapshotData<S> {
  const bad = (why: string, cause?: unknown): never => {
    throw new HistoryError("snapshot_corrupt", `${path}: the compacted document is not valid: ${why}`, { file: path }, { cause });
  };
  const decoded = decodeLine(text.trimEnd());
  if (decoded.ok) {
    const d = decoded.value;
    if (!Number.isSafeInteger(d["seq"]) || typeof d["state"] !== "object" || d["state"] === null) return bad("missing seq or state");
    return { format: 2, seq: d["seq"] as number, prevSeq: Number.isSafeInteger(d["prevSeq"]) ? (d["prevSeq"] as number) : 0, state: d["state"] as S };
  }
  if (decoded.reason === "checksum") return bad("checksum mismatch (a byte changed on disk: bit rot or an edit); it is not served");
  // A format-1 document carries `"version":1` rather than `"v"`.
  try {
    const d = JSON.parse(text) as { version?: unknown; seq?: unknown; state?: unknown };
    if (d.version === 1 && Number.isSafeInteger(d.seq) && typeof d.state === "object" && d.state !== null) {
      return { format: 1, seq: d.seq as number, prevSeq: 0, state: d.state as S };
    }
  } catch (e) {
    return bad("not JSON (torn or overwritten)", e);
  }
  return bad(decoded.reason === "version" ? `format ${JSON.stringify(decoded.version)} is not one this printlog reads` : "missing version, seq or state");
}
