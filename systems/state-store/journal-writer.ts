import { close, closeSync, fstatSync, ftruncateSync, openSync } from 'node:fs';
import { StateStoreError } from './errors.ts';
import { encodeRecord, JOURNAL_HEADER, rewriteJournal } from './journal-format.ts';
import { type JournalIo, writeFully } from './journal-io.ts';
import type { FsmSnapshot } from './schema.ts';

/**
 * When an append counts as acknowledged:
 * - 'always': after write(2) and fdatasync(2) of its record (concurrent appends share one fdatasync);
 * - 'batch': after write(2); fdatasync runs at most every fsyncIntervalMs (survives a process
 *   crash, may lose the last interval to an OS crash or power loss);
 * - 'never': after write(2); the OS flushes when it likes.
 * Under 'batch' and 'never' the write(2) of a small record is done synchronously in set(): a
 * page-cache write costs a few microseconds, far less than a hop through libuv's thread pool.
 */
export type FsyncPolicy = 'always' | 'batch' | 'never';

export interface JournalWriterOptions {
  policy: FsyncPolicy;
  fsyncIntervalMs: number;
  /** Past this many bytes the running journal is compacted to its last record. */
  maxBytes: number;
  io: JournalIo;
  /** Rewrite the journal to its last record on close(), so that a clean restart reads the live state only. */
  compactOnClose: boolean;
}

const ACKED: Promise<void> = Promise.resolve();

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

function ioError(file: string, error: unknown): StateStoreError {
  return new StateStoreError('STATE_JOURNAL_IO', `journal ${file}: ${(error as Error).message}`, {
    cause: error,
  });
}

/**
 * Appends framed records with group commit: while one write is in flight, the next batch gathers.
 * A write that fails (ENOSPC, EIO ...) fails the writer; recover() cuts the file back to its
 * intact prefix and starts again once the device takes writes.
 */
export class JournalWriter {
  readonly policy: FsyncPolicy;
  private readonly io: JournalIo;
  private readonly maxBytes: number;
  private readonly compactOnClose: boolean;
  /** -1 when a compaction could not reopen the file (recover() opens it again). */
  private fd: number;
  /** Bytes in the file, as far as this writer wrote them. */
  private size = 0;
  /**
   * End of the last record written whole and outside any failed write: what survives a failure.
   * A failed write may leave a torn record or unacknowledged ones after it; recover() and close()
   * cut the file back to here.
   */
  private intact = 0;
  /** The size past which the running journal is compacted next. */
  private compactAt: number;
  private lastFrame: Buffer | undefined;
  /** The record recover() writes, kept while the same snapshot is retried. */
  private probe: { snapshot: FsmSnapshot; frame: Buffer } | undefined;
  /** The 'batch' policy's periodic fdatasync while it runs (the fd must not change under it). */
  private syncing: Promise<void> | undefined;
  private pending: Buffer[] = [];
  private waiters: Waiter[] = [];
  private flushing = false;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private closed: Promise<void> | undefined;
  private idle: (() => void) | undefined;
  /** Why the journal takes no writes now; undefined while it works. */
  failure: StateStoreError | undefined;
  appended = 0;
  appendedBytes = 0;
  syncs = 0;
  compactions = 0;
  /** Compactions that failed (the journal was kept as it was). */
  compactionErrors = 0;
  /** Times the writer failed, and times it came back. */
  failures = 0;
  recoveries = 0;

  constructor(
    readonly file: string,
    options: JournalWriterOptions,
  ) {
    this.policy = options.policy;
    this.io = options.io;
    this.maxBytes = options.maxBytes;
    this.compactAt = options.maxBytes;
    this.compactOnClose = options.compactOnClose;
    try {
      this.fd = openSync(file, 'a');
      // Opened right after recovery, which left whole records only.
      this.size = this.intact = fstatSync(this.fd).size;
    } catch (error) {
      throw new StateStoreError(
        'STATE_JOURNAL_IO',
        `cannot open journal ${file}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (this.policy === 'batch') {
      this.timer = setInterval(() => this.periodicSync(), options.fsyncIntervalMs);
      this.timer.unref();
    }
  }

  /** Resolves once the record is acknowledged under the fsync policy. */
  append(snapshot: FsmSnapshot): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const frame = encodeRecord(snapshot);
    this.lastFrame = frame;
    if (this.policy !== 'always' && !this.flushing) return this.appendNow(frame);
    return new Promise<void>((resolve, reject) => {
      this.pending.push(frame);
      this.waiters.push({ resolve, reject });
      if (!this.flushing) this.flush();
    });
  }

  /**
   * After a failure: cut the file back to its intact prefix, then write `current` (the store's
   * snapshot, so that the journal holds what readers saw) under the fsync policy, synchronously.
   * True when the journal takes writes again; false, with `failure` updated, while it does not
   * (the file is cut back again). True at once when nothing failed.
   */
  recover(current: FsmSnapshot): boolean {
    if (!this.failure) return true;
    if (this.closed || this.flushing) return false;
    // A writer that keeps writing to a full disk retries with the same snapshot: encode it once.
    if (this.probe?.snapshot !== current) this.probe = { snapshot: current, frame: encodeRecord(current) };
    const frame = this.probe.frame;
    try {
      if (this.fd < 0) this.fd = openSync(this.file, 'a');
      ftruncateSync(this.fd, this.intact);
      this.size = this.intact;
      writeFully(this.io, this.fd, frame);
      this.size += frame.length;
      if (this.policy !== 'never') {
        this.io.fdatasyncSync(this.fd);
        this.syncs++;
      }
    } catch (error) {
      this.failure = ioError(this.file, error);
      this.cutBack();
      return false;
    }
    this.intact = this.size;
    this.lastFrame = frame;
    this.appended++;
    this.appendedBytes += frame.length;
    this.dirty = false;
    this.compactAt = Math.max(this.maxBytes, this.size);
    this.failure = undefined;
    this.probe = undefined;
    this.recoveries++;
    return true;
  }

  /** 'batch'/'never' with nothing queued: write(2) now and acknowledge at once. */
  private appendNow(frame: Buffer): Promise<void> {
    try {
      writeFully(this.io, this.fd, frame);
    } catch (error) {
      this.fail(error);
      return Promise.reject(this.failure);
    }
    this.appended++;
    this.appendedBytes += frame.length;
    this.dirty = true;
    this.size += frame.length;
    this.intact = this.size;
    // Compaction swaps the fd, so it waits for a periodic fdatasync in flight (next append retries).
    if (this.size > this.compactAt && !this.syncing) this.compact();
    return ACKED;
  }

  private flush(): void {
    if (this.pending.length === 0 || this.failure) {
      // Nothing in flight: the one moment a compaction cannot race a write.
      if (!this.failure && this.size > this.compactAt) this.compact();
      this.flushing = false;
      this.idle?.();
      return;
    }
    this.flushing = true;
    const frames = this.pending;
    const waiters = this.waiters;
    const bytes = frames.reduce((n, f) => n + f.length, 0);
    this.pending = [];
    this.waiters = [];
    this.writeAll(frames, (error) => {
      if (error || this.failure) return this.failBatch(error ?? this.failure, waiters);
      this.appended += waiters.length;
      this.appendedBytes += bytes;
      if (this.policy !== 'always') {
        this.dirty = true;
        this.intact = this.size;
        for (const w of waiters) w.resolve();
        return this.flush();
      }
      this.io.fdatasync(this.fd, (syncError) => {
        if (syncError || this.failure) return this.failBatch(syncError ?? this.failure, waiters);
        this.syncs++;
        this.intact = this.size;
        for (const w of waiters) w.resolve();
        this.flush();
      });
    });
  }

  /**
   * Replace the journal with its last record (atomic rename) and continue on the new file.
   * Called only with no write in flight; the last record is the newest written one. A rewrite
   * that fails (a full disk) leaves the journal as it was, and is tried again after another
   * maxBytes.
   */
  private compact(): void {
    try {
      rewriteJournal(this.file, this.lastFrame, this.io);
    } catch {
      this.compactionErrors++;
      this.compactAt = this.size + this.maxBytes;
      return;
    }
    this.compactions++;
    this.compactAt = this.maxBytes;
    this.dirty = false;
    this.size = this.intact = JOURNAL_HEADER.length + (this.lastFrame?.length ?? 0);
    const old = this.fd;
    this.fd = -1;
    try {
      closeSync(old);
      this.fd = openSync(this.file, 'a');
    } catch (error) {
      this.fail(error);
    }
  }

  private writeAll(frames: Buffer[], done: (error: Error | null) => void): void {
    const total = frames.reduce((n, f) => n + f.length, 0);
    this.io.writev(this.fd, frames, (error, written) => {
      if (error) return done(error);
      this.size += written;
      if (written === total) return done(null);
      // A short write: send the rest.
      const rest = Buffer.concat(frames).subarray(written);
      this.writeAll([rest], done);
    });
  }

  private periodicSync(): void {
    if (!this.dirty || this.failure || this.closed || this.syncing || this.fd < 0) return;
    this.dirty = false;
    this.syncing = new Promise<void>((resolve) => {
      this.io.fdatasync(this.fd, (error) => {
        this.syncing = undefined;
        if (error) this.fail(error);
        else this.syncs++;
        resolve();
      });
    });
  }

  /** Fail the writer: every queued append rejects; the ones in flight reject when they return. */
  private fail(error: unknown): void {
    if (!this.failure) {
      this.failures++;
      this.failure = ioError(this.file, error);
    }
    const queued = this.waiters;
    this.pending = [];
    this.waiters = [];
    for (const w of queued) w.reject(this.failure);
  }

  private failBatch(error: unknown, waiters: Waiter[]): void {
    this.fail(error);
    for (const w of waiters) w.reject(this.failure!);
    this.flushing = false;
    this.idle?.();
  }

  /** Best effort: drop what a failed write left after the intact prefix. */
  private cutBack(): void {
    if (this.fd < 0) return;
    try {
      ftruncateSync(this.fd, this.intact);
      this.size = this.intact;
    } catch {
      // The next recover() cuts again; a restart drops a torn tail by its checksum.
    }
  }

  /**
   * Waits for appends in flight, compacts (with compactOnClose) or syncs (unless 'never'), and
   * closes the file; a failed journal is cut back to its intact prefix. Safe to call twice.
   */
  close(): Promise<void> {
    this.closed ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      if (this.flushing) await new Promise<void>((resolve) => (this.idle = resolve));
      if (this.syncing) await this.syncing;
      if (this.fd < 0) return;
      if (this.failure) this.cutBack();
      else if (
        this.compactOnClose &&
        this.lastFrame &&
        this.size > JOURNAL_HEADER.length + this.lastFrame.length
      ) {
        try {
          rewriteJournal(this.file, this.lastFrame, this.io);
          this.compactions++;
          this.dirty = false;
        } catch {
          this.compactionErrors++;
        }
      }
      if (this.policy !== 'never' && this.dirty && !this.failure) {
        await new Promise<void>((resolve) => this.io.fdatasync(this.fd, () => resolve()));
      }
      const fd = this.fd;
      this.fd = -1;
      await new Promise<void>((resolve) => close(fd, () => resolve()));
    })();
    return this.closed;
  }
}
