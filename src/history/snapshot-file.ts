// lowdb adapter for the compacted snapshot. lowdb's own TextFile (steno) renames without fsync,
// which loses the file on power loss (lowdb#549); this one writes temp -> fsync -> rename -> fsync dir.

import { readFile } from "node:fs/promises";
import type { Adapter } from "lowdb";
import { writeFileDurable } from "./durable-file.js";
import { HistoryError } from "./errors.js";

export interface SnapshotData<S> {
  version: 1;
  /** Last journal sequence number folded into `state`; journal records up to it are skipped. */
  seq: number;
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
    try {
      const data = JSON.parse(text) as SnapshotData<S>;
      if (data?.version !== 1 || !Number.isSafeInteger(data.seq) || typeof data.state !== "object") {
        throw new Error("missing version, seq or state");
      }
      return data;
    } catch (err) {
      throw new HistoryError("snapshot_corrupt", `${this.path}: snapshot is not valid: ${(err as Error).message}`, {
        file: this.path,
      }, { cause: err });
    }
  }

  async write(data: SnapshotData<S>): Promise<void> {
    this.lastWriteBytes = await writeFileDurable(this.path, JSON.stringify(data));
  }
}
