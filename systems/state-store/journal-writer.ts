import { close, closeSync, fdatasync, fstatSync, openSync, writeSync, writev } from 'node:fs';
import { StateStoreError } from './errors.ts';
import { encodeRecord, rewriteJournal } from './journal-format.ts';
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

const ACKED: Promise<void> = Promise.resolve();

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Appends framed records with group commit: while one write is in flight, the next batch gathers. */
export class JournalWriter {
  private fd: number;
  /** Bytes in the file now; past maxBytes the journal is compacted to its last record. */
  private size = 0;
  private lastFrame: Buffer | undefined;
  /** The 'batch' policy's periodic fdatasync while it runs (the fd must not change under it). */
  private syncing: Promise<void> | undefined;
  private pending: Buffer[] = [];
  private waiters: Waiter[] = [];
  private flushing = false;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private closed: Promise<void> | undefined;
  private idle: (() => void) | undefined;
  failure: StateStoreError | undefined;
  appended = 0;
  syncs = 0;
  compactions = 0;

  constructor(
    readonly file: string,
    readonly policy: FsyncPolicy,
    readonly fsyncIntervalMs: number,
    readonly maxBytes: number = Number.POSITIVE_INFINITY,
  ) {
    try {
      this.fd = openSync(file, 'a');
      this.size = fstatSync(this.fd).size;
    } catch (error) {
      throw new StateStoreError(
        'STATE_JOURNAL_IO',
        `cannot open journal ${file}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (policy === 'batch') {
      this.timer = setInterval(() => this.periodicSync(), fsyncIntervalMs);
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

  /** 'batch'/'never' with nothing queued: write(2) now and acknowledge at once. */
  private appendNow(frame: Buffer): Promise<void> {
    try {
      let written = 0;
      while (written < frame.length) written += writeSync(this.fd, frame, written);
    } catch (error) {
      this.fail(error as Error, []);
      return Promise.reject(this.failure);
    }
    this.appended++;
    this.dirty = true;
    this.size += frame.length;
    // Compaction swaps the fd, so it waits for a periodic fdatasync in flight (next append retries).
    if (this.size > this.maxBytes && !this.syncing) this.compact();
    if (this.failure) return Promise.reject(this.failure);
    return ACKED;
  }

  private flush(): void {
    if (this.pending.length === 0) {
      // Nothing in flight: the one moment a compaction cannot race a write.
      if (this.size > this.maxBytes && !this.failure) this.compact();
      this.flushing = false;
      this.idle?.();
      return;
    }
    this.flushing = true;
    const frames = this.pending;
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    this.writeAll(frames, (error) => {
      if (error) return this.fail(error, waiters);
      this.appended += waiters.length;
      if (this.policy !== 'always') {
        this.dirty = true;
        for (const w of waiters) w.resolve();
        return this.flush();
      }
      fdatasync(this.fd, (syncError) => {
        if (syncError) return this.fail(syncError, waiters);
        this.syncs++;
        for (const w of waiters) w.resolve();
        this.flush();
      });
    });
  }

  /**
   * Replace the journal with its last record (atomic rename) and continue on the new file.
   * Called only with no write in flight; the last record is the newest written one.
   */
  private compact(): void {
    try {
      rewriteJournal(this.file, this.lastFrame);
      closeSync(this.fd);
      this.fd = openSync(this.file, 'a');
      this.size = fstatSync(this.fd).size;
      this.dirty = false;
      this.compactions++;
    } catch (error) {
      this.fail(error as Error, []);
    }
  }

  private writeAll(frames: Buffer[], done: (error: Error | null) => void): void {
    const total = frames.reduce((n, f) => n + f.length, 0);
    writev(this.fd, frames, (error, written) => {
      if (error) return done(error);
      this.size += written;
      if (written === total) return done(null);
      // A short write: send the rest.
      const rest = Buffer.concat(frames).subarray(written);
      this.writeAll([rest], done);
    });
  }

  private periodicSync(): void {
    if (!this.dirty || this.failure || this.closed || this.syncing) return;
    this.dirty = false;
    this.syncing = new Promise<void>((resolve) => {
      fdatasync(this.fd, (error) => {
        this.syncing = undefined;
        if (error) this.fail(error, []);
        else this.syncs++;
        resolve();
      });
    });
  }

  private fail(error: Error, waiters: Waiter[]): void {
    this.failure ??= new StateStoreError('STATE_JOURNAL_IO', `journal ${this.file}: ${error.message}`, {
      cause: error,
    });
    const all = [...waiters, ...this.waiters];
    this.pending = [];
    this.waiters = [];
    for (const w of all) w.reject(this.failure);
    this.flushing = false;
    this.idle?.();
  }

  /** Waits for appends in flight, syncs (unless 'never') and closes the file. Safe to call twice. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      if (this.flushing) await new Promise<void>((resolve) => (this.idle = resolve));
      if (this.syncing) await this.syncing;
      if (this.policy !== 'never' && this.dirty && !this.failure) {
        await new Promise<void>((resolve) => fdatasync(this.fd, () => resolve()));
      }
      await new Promise<void>((resolve) => close(this.fd, () => resolve()));
    })();
    return this.closed;
  }
}
