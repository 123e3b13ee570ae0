// A state folded from an append-only journal over a lowdb snapshot. Records apply to memory at
// once (the API sees them immediately) and are written in order; a write that fails (disk full,
// read-only directory) stays pending and is retried, so nothing recorded is dropped.

import { mkdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { Low } from "lowdb";
import { HistoryError } from "./errors.js";
import { Journal, parseJournal, type JournalEntry } from "./journal.js";
import { readFile } from "node:fs/promises";
import { DurableJsonFile } from "./snapshot-file.js";
import { lockDir } from "./dir-lock.js";
import type { Logger } from "../log.js";

/** Errors that mean "cannot write here now", not "the data is broken". */
export function isUnwritable(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === "EROFS" || code === "EACCES" || code === "EPERM" || code === "ENOSPC";
}

export interface LogSpec<S, R> {
  /** Base file name: `<name>.json` (snapshot) and `<name>.jsonl` (journal). */
  name: string;
  initial(): S;
  /** Folds one record into the state (mutating). Must be deterministic. */
  apply(state: S, rec: R, seq: number): void;
}

export interface DurableLogOptions {
  logger: Logger;
  /** Compact once the journal holds this many times the snapshot's bytes (geometric, so the
   *  bytes written per record stay bounded however long the history grows). */
  compactRatio?: number;
  /** ... and at least this many bytes. */
  minCompactBytes?: number;
  retryMs?: number;
  /** Read what is on disk without locking, repairing or writing (for `list`, `export`). */
  readOnly?: boolean;
}

interface Pending {
  line: string;
  sync: boolean;
  waiters: { resolve: () => void; reject: (e: Error) => void }[];
}

export class DurableLog<S, R> {
  private journal: Journal | null = null;
  private readonly pending: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private snapshotBytes = 0;
  private closed = false;
  /** Total bytes written to disk (journal + snapshots), for the benchmarks. */
  bytesWritten = 0;
  lastError: Error | null = null;
  /** True from a failed write until a write succeeds again. */
  failing = false;

  private constructor(
    readonly dir: string,
    private readonly spec: LogSpec<S, R>,
    private readonly db: Low<{ version: 1; seq: number; state: S }>,
    private readonly snapshotFile: DurableJsonFile<S>,
    private readonly opts: Required<DurableLogOptions>,
    public seq: number,
    private unlock: () => Promise<void>,
  ) {}

  /** The directory was not writable at start: take the lock when it is. */
  needsLock = false;

  get state(): S {
    return this.db.data.state;
  }

  get journalPath(): string {
    return join(this.dir, `${this.spec.name}.jsonl`);
  }

  static async open<S, R>(dir: string, spec: LogSpec<S, R>, options: DurableLogOptions): Promise<DurableLog<S, R>> {
    const opts: Required<DurableLogOptions> = {
      compactRatio: 2,
      minCompactBytes: 256 * 1024,
      retryMs: 5000,
      readOnly: false,
      ...options,
    };
    if (!opts.readOnly) await mkdir(dir, { recursive: true });
    const locks = spec.name === "history" && !opts.readOnly;
    let unlock: () => Promise<void> = async () => undefined;
    let unwritable: Error | null = null;
    if (locks) {
      try {
        unlock = await lockDir(dir);
      } catch (e) {
        if (!isUnwritable(e)) throw e;
        unwritable = e as Error;
      }
    }
    try {
      const log = await DurableLog.load(dir, spec, opts, unlock, unwritable);
      log.needsLock = locks && unwritable !== null;
      return log;
    } catch (e) {
      await unlock();
      throw e;
    }
  }

  private static async load<S, R>(
    dir: string,
    spec: LogSpec<S, R>,
    opts: Required<DurableLogOptions>,
    unlock: () => Promise<void>,
    unwritable: Error | null,
  ): Promise<DurableLog<S, R>> {
    const snapPath = join(dir, `${spec.name}.json`);
    // A leftover temp file is a compaction that crashed before its rename: the old snapshot
    // and the journal are still whole, so it is simply discarded.
    if (!opts.readOnly) await unlink(`${snapPath}.tmp`).catch(() => undefined);
    const file = new DurableJsonFile<S>(snapPath);
    const db = new Low(file, { version: 1 as const, seq: 0, state: spec.initial() });
    await db.read();
    const log = new DurableLog<S, R>(dir, spec, db, file, opts, db.data.seq, unlock);
    log.snapshotBytes = JSON.stringify(db.data).length;

    let opened: Awaited<ReturnType<typeof Journal.open<R>>> | null = null;
    if (!opts.readOnly && !unwritable) {
      try {
        opened = await Journal.open<R>(log.journalPath);
      } catch (e) {
        if (!isUnwritable(e)) throw e;
        unwritable = e as Error;
      }
    }
    if (!opened) {
      // Read-only use (`list`, `export`), or a data directory that cannot be written now (a
      // read-only filesystem, wrong permissions): serve what is on disk; with `unwritable`,
      // changes are kept in memory and written once the directory is writable again.
      const text = await readFile(log.journalPath, "utf8").catch((e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") return "";
        throw e;
      });
      for (const entry of parseJournal<R>(text, log.journalPath).entries) {
        if (entry.seq <= log.seq) continue;
        spec.apply(db.data.state, entry.rec, entry.seq);
        log.seq = entry.seq;
      }
      db.data.seq = log.seq;
      if (opts.readOnly) log.closed = true;
      else {
        log.failing = true;
        opts.logger.error("store.unwritable", {
          dir,
          error: unwritable?.message,
          note: "serving the history on disk; new records are kept in memory and written when the directory is writable again",
        });
      }
      return log;
    }
    const { journal, recovered } = opened;
    if (recovered.tornTail !== null) {
      opts.logger.warn("journal.torn_tail", {
        file: log.journalPath,
        dropped_bytes: Buffer.byteLength(recovered.tornTail),
        note: "a write was cut off (power loss or crash); the incomplete record was dropped",
      });
    }
    let replayed = 0;
    for (const entry of recovered.entries) {
      if (entry.seq <= log.seq) continue; // already folded into the snapshot
      spec.apply(db.data.state, entry.rec, entry.seq);
      log.seq = entry.seq;
      replayed += 1;
    }
    db.data.seq = log.seq;
    log.journal = journal;
    opts.logger.info("store.opened", { name: spec.name, snapshot_seq: db.data.seq, replayed, seq: log.seq });
    return log;
  }

  /** Applies `rec` now and writes it; with `sync` the promise resolves once it is on disk. */
  append(rec: R, sync = true): Promise<void> {
    if (this.closed) return Promise.reject(new HistoryError("store_closed", `${this.spec.name} store is closed`));
    const seq = this.seq + 1;
    this.spec.apply(this.state, rec, seq);
    this.seq = seq;
    this.db.data.seq = seq;
    const entry: JournalEntry<R> = { v: 1, seq, rec };
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line: JSON.stringify(entry), sync, waiters: [{ resolve, reject }] });
      void this.flush();
    });
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Writes every pending record; resolves when the queue is empty or a write failed. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = this.drain().finally(() => {
      this.flushing = null;
      if (this.pending.length > 0 && !this.lastError && !this.closed) void this.flush();
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.slice();
      try {
        if (!this.journal) {
          if (this.needsLock) {
            this.unlock = await lockDir(this.dir);
            this.needsLock = false;
          }
          this.journal = (await Journal.open<R>(this.journalPath)).journal;
        }
        const before = this.journal.bytes;
        const text = batch.map((p) => p.line).join("\n");
        const sync = batch.some((p) => p.sync);
        try {
          this.bytesWritten += await this.journal.append(text, sync);
        } catch (err) {
          // Cut off whatever part of the batch reached the file, so no torn line is left
          // in the middle of the journal when a later write succeeds.
          await this.journal.truncateTo(before).catch(() => undefined);
          throw err;
        }
      } catch (err) {
        const e = new HistoryError(
          "storage_failed",
          `cannot write ${this.journalPath}: ${(err as Error).message}; ${this.pending.length} change(s) kept in memory and retried`,
          { file: this.journalPath },
          { cause: err },
        );
        if (!this.failing) this.opts.logger.error("store.write_failed", { file: this.journalPath, error: (err as Error).message });
        this.failing = true;
        this.lastError = e;
        for (const p of batch) for (const w of p.waiters.splice(0)) w.reject(e);
        this.scheduleRetry();
        return;
      }
      this.pending.splice(0, batch.length);
      if (this.failing) {
        this.opts.logger.info("store.write_recovered", { file: this.journalPath, written: batch.length });
        this.failing = false;
      }
      this.lastError = null;
      for (const p of batch) for (const w of p.waiters) w.resolve();
      await this.maybeCompact();
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.lastError = null;
      void this.flush();
    }, this.opts.retryMs);
    this.retryTimer.unref();
  }

  private async maybeCompact(): Promise<void> {
    const journal = this.journal;
    if (!journal) return;
    const threshold = Math.max(this.opts.minCompactBytes, this.snapshotBytes * this.opts.compactRatio);
    if (journal.bytes < threshold) return;
    await this.compactNow();
  }

  /** Snapshot -> fsync -> rename -> fsync dir -> truncate journal. Crash-safe at every step. */
  async compactNow(): Promise<void> {
    const journal = this.journal;
    if (!journal) return;
    try {
      this.db.data.seq = this.seq;
      await this.db.write();
      this.snapshotBytes = this.snapshotFile.lastWriteBytes;
      this.bytesWritten += this.snapshotBytes;
      // Everything in the journal is folded into the snapshot. Records still pending were
      // applied to memory before the snapshot was serialised, so they are in it too; when
      // they reach the journal later, replay skips them by sequence number.
      await journal.truncate();
    } catch (err) {
      this.opts.logger.warn("store.compact_failed", { file: this.snapshotFile.path, error: (err as Error).message });
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.journal?.close();
    this.journal = null;
    await this.unlock();
  }
}
