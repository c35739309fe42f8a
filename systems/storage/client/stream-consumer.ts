// A consumer of a chunked stream: an async iterator of the chunks in index order, each with its
// bytes (checked against the manifest's size and SHA-256). It waits for changes with the server's
// long-poll (mode 'watch'), or polls the manifest at an interval (mode 'poll', and the fallback when
// watching is unavailable). It stops at 'completed', throws STORAGE_STREAM_FAILED at 'failed', and
// STORAGE_STREAM_STALE when the manifest has not changed for `staleMs` of waiting.
import { createHash } from 'node:crypto';
import { StorageError } from '../errors.ts';
import type { ManifestRef } from '../keys.ts';
import type { Chunk, Manifest } from '../manifest.ts';
import type { ManifestState, StorageClient } from './storage-client.ts';

export interface StreamConsumerOptions {
  userId: string;
  blockId: string;
  /** Default: the block's latest version (waiting for one to appear, within staleMs). */
  versionId?: string;
  /** 'watch' (default): long-poll, falling back to polling when watching fails; 'poll': poll only. */
  mode?: 'watch' | 'poll';
  /** Poll period, ms. Default 250. */
  pollIntervalMs?: number;
  /** Longest long-poll, ms. Default 25000. */
  watchTimeoutMs?: number;
  /** Waiting this long without a change while 'generating' throws STORAGE_STREAM_STALE, ms. Default 30000. */
  staleMs?: number;
  /** First chunk index to yield (resume after `nextIndex` of an earlier consumer). Default 0. */
  fromIndex?: number;
  /** Check each chunk's size and SHA-256. Default true. */
  verify?: boolean;
  signal?: AbortSignal;
}

export interface ConsumedChunk {
  index: number;
  name: string;
  key: string;
  size: number;
  sha256: string;
  bytes: Uint8Array;
  /** The chunk entry as listed in the manifest (extra fields included). */
  entry: Chunk;
}

/** Errors after which watching is given up for this round and the consumer polls instead. */
const WATCH_UNAVAILABLE = new Set([
  'STORAGE_ROUTE_NOT_FOUND',
  'STORAGE_TOO_MANY_WATCHERS',
  'STORAGE_HTTP_ERROR',
]);

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class StreamConsumer implements AsyncIterable<ConsumedChunk> {
  readonly #client: StorageClient;
  readonly #opts: StreamConsumerOptions;
  #next: number;
  #state: ManifestState | undefined;
  #versionId: string | undefined;
  #mode: 'watch' | 'poll';
  /** Watch rounds that fell back to polling (watching unavailable). */
  fallbacks = 0;

  constructor(client: StorageClient, options: StreamConsumerOptions) {
    this.#client = client;
    this.#opts = options;
    this.#next = options.fromIndex ?? 0;
    this.#versionId = options.versionId;
    this.#mode = options.mode ?? 'watch';
  }

  /** The index of the next chunk to yield: where a new consumer resumes. */
  get nextIndex(): number {
    return this.#next;
  }

  get versionId(): string | undefined {
    return this.#versionId;
  }

  /** The manifest as last seen. */
  get manifest(): Manifest | undefined {
    return this.#state?.manifest;
  }

  /** 'poll' once watching turned out not to exist on the server. */
  get mode(): 'watch' | 'poll' {
    return this.#mode;
  }

  get #staleMs(): number {
    return this.#opts.staleMs ?? 30_000;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ConsumedChunk> {
    const ref = await this.#resolveRef();
    let waited = 0;
    while (true) {
      const state = this.#state;
      if (state) {
        const { chunks, status } = state.manifest;
        while (this.#next < chunks.length) {
          const entry = chunks[this.#next] as Chunk;
          const bytes = await this.#fetch(entry);
          this.#next++;
          yield {
            index: entry.index,
            name: entry.name,
            key: entry.key,
            size: entry.size,
            sha256: entry.sha256,
            bytes,
            entry,
          };
        }
        if (status === 'completed') return;
        if (status === 'failed') {
          const reason = (state.manifest as Record<string, unknown>).error ?? 'no reason given';
          throw new StorageError(
            'STORAGE_STREAM_FAILED',
            `the producer failed the stream: ${String(reason)}`,
          );
        }
      }
      const budget = this.#staleMs - waited;
      if (budget <= 0) {
        throw new StorageError(
          'STORAGE_STREAM_STALE',
          `manifest ${ref.versionId} did not change for ${this.#staleMs} ms (chunks seen: ${this.#next})`,
        );
      }
      const started = Date.now();
      const changed = await this.#waitForChange(ref, budget);
      if (changed) {
        this.#state = changed;
        waited = 0;
      } else {
        waited += Date.now() - started;
      }
    }
  }

  async #resolveRef(): Promise<ManifestRef> {
    const { userId, blockId } = this.#opts;
    let waited = 0;
    while (!this.#versionId) {
      try {
        const latest = await this.#client.latestVersion(userId, blockId);
        if (latest !== 'not-modified') this.#versionId = latest.versionId;
      } catch (e) {
        if (!(e instanceof StorageError) || e.code !== 'STORAGE_NOT_FOUND') throw e;
        if (waited >= this.#staleMs) {
          throw new StorageError(
            'STORAGE_STREAM_STALE',
            `no version of ${userId}/${blockId} appeared within ${this.#staleMs} ms`,
          );
        }
        const interval = this.#opts.pollIntervalMs ?? 250;
        await sleep(interval, this.#opts.signal);
        waited += interval;
      }
    }
    return { userId, blockId, versionId: this.#versionId };
  }

  async #waitForChange(ref: ManifestRef, budgetMs: number): Promise<ManifestState | undefined> {
    if (this.#mode === 'watch') {
      try {
        const r = await this.#client.watch(ref, {
          ...(this.#state ? { sinceEtag: this.#state.etag } : {}),
          timeoutMs: Math.max(0, Math.min(this.#opts.watchTimeoutMs ?? 25_000, budgetMs)),
          ...(this.#opts.signal ? { signal: this.#opts.signal } : {}),
        });
        return r.changed ? { etag: r.etag, manifest: r.manifest } : undefined;
      } catch (e) {
        if (!(e instanceof StorageError) || !WATCH_UNAVAILABLE.has(e.code)) throw e;
        this.fallbacks++;
        if (e.code === 'STORAGE_ROUTE_NOT_FOUND') this.#mode = 'poll';
      }
    }
    return this.#poll(ref, budgetMs);
  }

  async #poll(ref: ManifestRef, budgetMs: number): Promise<ManifestState | undefined> {
    // Ask at once the first time (nothing seen yet), then once per interval.
    if (this.#state) await sleep(Math.min(this.#opts.pollIntervalMs ?? 250, budgetMs), this.#opts.signal);
    const got = await this.#client.getManifest(ref, this.#state ? { ifNoneMatch: this.#state.etag } : {});
    if (got === undefined || got === 'not-modified') {
      if (!this.#state) await sleep(Math.min(this.#opts.pollIntervalMs ?? 250, budgetMs), this.#opts.signal);
      return undefined;
    }
    return got;
  }

  async #fetch(entry: Chunk): Promise<Uint8Array> {
    const bytes = await this.#client.download(
      entry.key,
      this.#opts.signal ? { signal: this.#opts.signal } : {},
    );
    if (this.#opts.verify ?? true) {
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      if (bytes.length !== entry.size || sha256 !== entry.sha256) {
        throw new StorageError(
          'STORAGE_INTEGRITY_MISMATCH',
          `chunk ${entry.index} (${entry.key}): got ${bytes.length} bytes sha256 ${sha256}, manifest lists ${entry.size} bytes sha256 ${entry.sha256}`,
        );
      }
    }
    return bytes;
  }
}
