// A state folded from an append-only journal over a lowdb document. Records apply to memory at
// once (the API sees them immediately) and are written in order; a write that fails (disk full,
// read-only directory) stays pending and is retried, so nothing recorded is dropped. Compaction
// runs when the journal reaches a fixed size, so start-up never replays more than that.

import { mkdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { Low } from "lowdb";
import { HistoryError } from "./errors.js";
import { Journal, type RecoveredJournal } from "./journal.js";
import { journalLine } from "./journal.js";
import { DurableJsonFile, type SnapshotData } from "./snapshot-file.js";
import { copyDurably, fsyncDir } from "./durable-file.js";
import { checkContinuity } from "./continuity.js";
import { lockDir } from "./dir-lock.js";
import type { Logger } from "../log.js";

/** Errors that mean "cannot write here now", not "the data is broken". */
export function isUnwritable(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === "EROFS" || code === "EACCES" || code === "EPERM" || code === "ENOSPC" || code === "EDQUOT";
}

/** What a compaction writes: side files first (`write`), then the document, then `commit`. */
export interface Capture {
  document: unknown;
  write?(): Promise<number>;
  commit?(): void;
  abort?(): void;
  /** After the journal restarted: remove what the document no longer names. */
  cleanup?(): Promise<void>;
}

export interface LogSpec<S, R> {
  /** Base file name: `<name>.json` (document) and `<name>.jsonl` (journal). */
  name: string;
  /** The state from the document's `state` (null: a new directory); format 1 is migrated. */
  load(doc: unknown | null, format: 1 | 2, ctx: { dir: string; readOnly: boolean; logger: Logger }): Promise<S>;
  /** Folds one record into the state (mutating). Must be deterministic. */
  apply(state: S, rec: R, seq: number): void;
  /** Captures the state for a compaction; synchronous, so records applied later are not in it. */
  capture(state: S): Capture;
  /** The state asks for a compaction whatever the journal's size (e.g. to fold a grown index). */
  wantsCompaction?(state: S): boolean;
  /** Releases what `load` opened. */
  dispose?(state: S): Promise<void>;
}

export interface DurableLogOptions {
  logger: Logger;
  /** Compact once the journal holds this many bytes (default 1 MiB): start-up replays at most this. */
  minCompactBytes?: number;
  retryMs?: number;
  /** Read what is on disk without locking, repairing or writing (for `list`, `export`, `backup`). */
  readOnly?: boolean;
  /** Take the directory lock (the history store does; the database shares its directory). */
  lock?: boolean;
}

interface Pending {
  line: string;
  sync: boolean;
  waiters: { resolve: () => void; reject: (e: Error) => void }[];
}

const READ_ATTEMPTS = 30;

export class DurableLog<S, R> {
  private journal: Journal | null = null;
  private readonly pending: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Set when the document must be rewritten before the journal is appended to (a new or migrated directory). */
  private needsCompaction = false;
  private compactRetryAt = 0;
  /** Total bytes written to disk (journal, document, side files), for the benchmarks. */
  bytesWritten = 0;
  lastError: Error | null = null;
  /** True from a failed write until a write succeeds again. */
  failing = false;
  /** Problems found at start-up that a person must look at (a gap, a stale journal). */
  readonly warnings: string[] = [];

  private constructor(
    readonly dir: string,
    private readonly spec: LogSpec<S, R>,
    private readonly db: Low<SnapshotData<unknown>>,
    private readonly opts: Required<DurableLogOptions>,
    public state: S,
    public seq: number,
    private unlock: () => Promise<void>,
  ) {}

  get journalPath(): string {
    return join(this.dir, `${this.spec.name}.jsonl`);
  }

  get documentPath(): string {
    return join(this.dir, `${this.spec.name}.json`);
  }

  static async open<S, R>(dir: string, spec: LogSpec<S, R>, options: DurableLogOptions): Promise<DurableLog<S, R>> {
    const opts: Required<DurableLogOptions> = { minCompactBytes: 1024 * 1024, retryMs: 5000, readOnly: false, lock: false, ...options };
    if (opts.readOnly) return DurableLog.openReadOnly(dir, spec, opts);
    let unwritable: Error | null = null;
    await mkdir(dir, { recursive: true }).catch((e) => {
      if (!isUnwritable(e)) throw e;
      unwritable = e as Error;
    });
    const unlock = opts.lock ? await lockDir(dir, opts.logger) : async () => undefined;
    try {
      return await DurableLog.load(dir, spec, opts, unlock, unwritable);
    } catch (e) {
      await unlock();
      throw e;
    }
  }

  /** Reads document and journal as a consistent pair even while a live printlog compacts. */
  private static async openReadOnly<S, R>(dir: string, spec: LogSpec<S, R>, opts: Required<DurableLogOptions>): Promise<DurableLog<S, R>> {
    for (let attempt = 1; ; attempt++) {
      const file = new DurableJsonFile<unknown>(join(dir, `${spec.name}.json`));
      const db = new Low<SnapshotData<unknown>>(file, { format: 2, seq: 0, prevSeq: 0, state: null });
      const existed = (await file.read().then((d) => (d ? ((db.data = d), true) : false)));
      let state: S;
      try {
        state = await spec.load(db.data.state, db.data.format, { dir, readOnly: true, logger: opts.logger });
      } catch (e) {
        // A generation file replaced by a compaction between our two reads: read again.
        if ((e as NodeJS.ErrnoException).code === "ENOENT" && attempt < READ_ATTEMPTS) continue;
        throw e;
      }
      const recovered = await Journal.read<R>(join(dir, `${spec.name}.jsonl`));
      // The document read again: unchanged means no compaction committed between the two reads,
      // so the journal read is the one that follows it (a compaction restarts the journal only
      // after renaming its document).
      const again = await file.read();
      const unchanged = again === null ? existed === false : existed === true && again.seq === db.data.seq && again.prevSeq === db.data.prevSeq;
      const follows = recovered.after === null || recovered.after <= db.data.seq;
      if (!unchanged || !follows) {
        await spec.dispose?.(state);
        if (attempt >= READ_ATTEMPTS) {
          throw new HistoryError("storage_failed", `could not read a consistent state of ${file.path} and its journal in ${READ_ATTEMPTS} attempts (compacting continuously?)`, { file: file.path });
        }
        await new Promise((r) => setTimeout(r, 10 * attempt));
        continue; // compacted meanwhile
      }
      const log = new DurableLog<S, R>(dir, spec, db, opts, state, db.data.seq, async () => undefined);
      log.replay(recovered, db.data);
      log.closed = true;
      return log;
    }
  }

  private static async load<S, R>(
    dir: string,
    spec: LogSpec<S, R>,
    opts: Required<DurableLogOptions>,
    unlock: () => Promise<void>,
    unwritable: Error | null,
  ): Promise<DurableLog<S, R>> {
    const file = new DurableJsonFile<unknown>(join(dir, `${spec.name}.json`));
    // A leftover temp file is a compaction that stopped before its rename: the document and
    // the journal in force are whole, so it is simply discarded.
    if (!unwritable) await unlink(`${file.path}.tmp`).catch(() => undefined);
    const db = new Low<SnapshotData<unknown>>(file, { format: 2, seq: 0, prevSeq: 0, state: null });
    const existed = (await db.read(), (await stat(file.path).catch(() => null)) !== null);
    const state = await spec.load(existed ? db.data.state : null, db.data.format, { dir, readOnly: false, logger: opts.logger });
    const log = new DurableLog<S, R>(dir, spec, db, opts, state, db.data.seq, unlock);
    const recovered = await Journal.read<R>(log.journalPath);
    if (recovered.tornTail !== null && recovered.tornTail.replace(/[\0\s]/g, "").length > 0) {
      opts.logger.warn("journal.torn_tail", {
        file: log.journalPath,
        dropped_bytes: Buffer.byteLength(recovered.tornTail),
        note: "a write was cut off (power loss or crash); the incomplete record was dropped",
      });
    }
    const replayed = log.replay(recovered, db.data);
    const migrating = db.data.format === 1 || recovered.format === 1;
    // A new directory gets its document now; a format-1 one is migrated (its files kept as backups).
    log.needsCompaction = !existed || migrating;
    if (unwritable) return log.startFailing(unwritable);
    try {
      if (migrating) await log.backupFormat1(existed, recovered);
      if (log.needsCompaction) {
        log.journal = await Journal.open(log.journalPath, recovered.validBytes, false);
        await log.compactNow(true);
      } else {
        log.journal = await log.openJournal(recovered);
      }
    } catch (e) {
      if (!isUnwritable(e)) throw e;
      await log.journal?.close().catch(() => undefined);
      log.journal = null;
      return log.startFailing(e as Error);
    }
    // An index that outgrew its overlay at load (e.g. a directory of an earlier format) is folded
    // in the background, so start-up does not wait for it.
    if (!log.failing && !opts.readOnly && spec.wantsCompaction?.(log.state)) void log.compactNow();
    if (migrating) opts.logger.warn("store.migrated", { name: spec.name, to_format: 2, backups: `${spec.name}.v1.json, ${spec.name}.v1.jsonl` });
    opts.logger.info("store.opened", { name: spec.name, snapshot_seq: db.data.seq, replayed, seq: log.seq });
    return log;
  }

  private async openJournal(recovered: RecoveredJournal<R>): Promise<Journal> {
    const created = (await stat(this.journalPath).catch(() => null)) === null;
    const torn = recovered.tornTail !== null;
    const journal = await Journal.open(this.journalPath, recovered.validBytes, torn);
    if (created || recovered.after === null) {
      this.bytesWritten += await journal.restart(this.seq);
      await fsyncDir(this.dir);
    }
    return journal;
  }

  /** Keeps a format-1 directory's files as they were, before anything is rewritten. */
  private async backupFormat1(docExisted: boolean, recovered: RecoveredJournal<R>): Promise<void> {
    if (docExisted && this.db.data.format === 1) await copyDurably(this.documentPath, join(this.dir, `${this.spec.name}.v1.json`));
    if (recovered.format === 1 && recovered.entries.length > 0) await copyDurably(this.journalPath, join(this.dir, `${this.spec.name}.v1.jsonl`));
  }

  private startFailing(err: Error): DurableLog<S, R> {
    this.failing = true;
    this.lastError = null;
    this.opts.logger.error("store.unwritable", {
      dir: this.dir,
      error: err.message,
      note: "serving the history on disk; new records are kept in memory and written when the directory is writable again",
    });
    this.scheduleRetry();
    return this;
  }

  /** Folds the journal's records after the document's; says loudly when records are missing. */
  private replay(recovered: RecoveredJournal<R>, doc: SnapshotData<unknown>): number {
    const problem = checkContinuity(
      { journal: this.journalPath, document: this.documentPath },
      doc,
      { after: recovered.after, first: recovered.entries[0]?.seq ?? null },
    );
    if (problem) {
      this.warnings.push(problem.message);
      this.opts.logger.error(problem.event, { file: this.journalPath, ...problem.fields, note: problem.message });
    }
    let replayed = 0;
    for (const entry of recovered.entries) {
      if (entry.seq <= this.seq) continue; // already folded into the document
      this.spec.apply(this.state, entry.rec, entry.seq);
      this.seq = entry.seq;
      replayed += 1;
    }
    return replayed;
  }

  /** Applies `rec` now and writes it; with `sync` the promise resolves once it is on disk. */
  append(rec: R, sync = true): Promise<void> {
    if (this.closed) return Promise.reject(new HistoryError("store_closed", `${this.spec.name} store is closed`));
    const seq = this.seq + 1;
    this.spec.apply(this.state, rec, seq);
    this.seq = seq;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line: journalLine(seq, rec), sync, waiters: [{ resolve, reject }] });
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
    if (!this.journal && !this.failing && this.pending.length === 0) return;
    while (this.pending.length > 0 || (!this.journal && !this.closed)) {
      const batch = this.pending.slice();
      try {
        if (!this.journal) await this.reopen();
        const journal = this.journal!;
        if (batch.length === 0) break;
        const before = journal.bytes;
        const text = batch.map((p) => p.line).join("\n");
        const sync = batch.some((p) => p.sync);
        try {
          this.bytesWritten += await journal.append(text, sync);
        } catch (err) {
          // Cut off whatever part of the batch reached the file, so no torn line is left
          // in the middle of the journal when a later write succeeds.
          await journal.truncateTo(before).catch(() => undefined);
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

  /** The directory became writable again: migrate or create the document if that was pending, open the journal. */
  private async reopen(): Promise<void> {
    const recovered = await Journal.read<R>(this.journalPath);
    if (this.needsCompaction) {
      if (this.db.data.format === 1 || recovered.format === 1) await this.backupFormat1((await stat(this.documentPath).catch(() => null)) !== null, recovered);
      this.journal = await Journal.open(this.journalPath, recovered.validBytes, recovered.tornTail !== null);
      try {
        await this.compactNow(true);
      } catch (e) {
        await this.journal.close().catch(() => undefined);
        this.journal = null;
        throw e;
      }
    } else {
      this.journal = await this.openJournal(recovered);
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
    if (!journal || Date.now() < this.compactRetryAt) return;
    if (journal.bytes < this.opts.minCompactBytes && !this.spec.wantsCompaction?.(this.state)) return;
    await this.compactNow();
  }

  /**
   * Side files -> document (temp, fsync, rename, fsync dir) -> journal restarted. Crash-safe at
   * every step: until the document is renamed the old one and the whole journal are in force;
   * after it, the journal's records are at or below the document's sequence and are skipped.
   * A failure is logged and leaves everything as it was, so the next attempt starts clean.
   */
  compactNow(rethrow = false): Promise<void> {
    // One at a time: two captures would both append at the same committed length.
    const run = this.compactions.then(() => this.compactOnce(rethrow));
    this.compactions = run.catch(() => undefined);
    return run;
  }

  private compactions: Promise<void> = Promise.resolve();

  private async compactOnce(rethrow: boolean): Promise<void> {
    const journal = this.journal;
    if (!journal) return;
    const capture = this.spec.capture(this.state);
    const seq = this.seq;
    // The journal being compacted was started after the current document's seq.
    const prevSeq = this.db.data.seq;
    try {
      if (capture.write) this.bytesWritten += await capture.write();
      this.db.data = { format: 2, seq, prevSeq, state: capture.document };
      await this.db.write();
      this.bytesWritten += (this.db.adapter as DurableJsonFile<unknown>).lastWriteBytes;
      capture.commit?.();
      this.needsCompaction = false;
      // Records still pending were applied to memory before the capture, so they are in the
      // document too; when they reach the journal later, replay skips them by sequence number.
      this.bytesWritten += await journal.restart(seq);
      this.compactRetryAt = 0;
      await capture.cleanup?.().catch((e: Error) => this.opts.logger.warn("store.cleanup_failed", { error: e.message }));
    } catch (err) {
      capture.abort?.();
      this.compactRetryAt = Date.now() + this.opts.retryMs;
      this.opts.logger.warn("store.compact_failed", { file: this.documentPath, error: (err as Error).message, note: "the journal stays the source of truth; compaction is retried" });
      if (rethrow) throw err;
    }
  }

  async close(): Promise<void> {
    if (!this.closed) await this.flush();
    await this.compactions; // one a caller started
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.journal?.close();
    this.journal = null;
    await this.spec.dispose?.(this.state);
    await this.unlock();
  }
}
