// In-process change notification for manifests. The writer publishes after its write is durable;
// publish() only calls listeners, which must not block (they resolve a promise or queue a write),
// so a slow watcher can never hold up a writer. The number of open watchers is bounded.
import { EventEmitter } from 'node:events';
import { StorageError } from './errors.ts';
import type { ManifestRef } from './keys.ts';
import type { Manifest } from './manifest.ts';

export interface ManifestEvent {
  ref: ManifestRef;
  etag: string;
  manifest: Manifest;
  updatedAt: number;
}

export type ManifestListener = (event: ManifestEvent) => void;

export class WatchHub {
  readonly maxWatchers: number;
  readonly #emitter = new EventEmitter();
  readonly #closers = new Set<() => void>();
  #watchers = 0;
  #closed = false;

  constructor(maxWatchers: number) {
    this.maxWatchers = maxWatchers;
    this.#emitter.setMaxListeners(0);
  }

  /** Watchers open now (long-polls and event streams). */
  get watchers(): number {
    return this.#watchers;
  }

  /** Takes a watcher slot or throws STORAGE_TOO_MANY_WATCHERS; the returned release is idempotent. */
  acquire(): () => void {
    if (this.#closed) {
      throw new StorageError('STORAGE_TOO_MANY_WATCHERS', 'the server is shutting down', { retryAfterS: 1 });
    }
    if (this.#watchers >= this.maxWatchers) {
      throw new StorageError(
        'STORAGE_TOO_MANY_WATCHERS',
        `${this.#watchers} watchers are open (maxWatchers ${this.maxWatchers}); retry shortly or poll`,
        { retryAfterS: 1 },
      );
    }
    this.#watchers++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#watchers--;
    };
  }

  /** Calls `listener` on each change of the manifest `key` until the returned function is called. */
  subscribe(key: string, listener: ManifestListener): () => void {
    const safe: ManifestListener = (event) => {
      try {
        listener(event);
      } catch {
        // A broken watcher must not break the writer or the other watchers.
      }
    };
    this.#emitter.on(key, safe);
    return () => {
      this.#emitter.off(key, safe);
    };
  }

  publish(key: string, event: ManifestEvent): void {
    this.#emitter.emit(key, event);
  }

  /** Runs `fn` when the hub closes (the server shuts down) until the returned function is called. */
  onClose(fn: () => void): () => void {
    this.#closers.add(fn);
    return () => {
      this.#closers.delete(fn);
    };
  }

  close(): void {
    this.#closed = true;
    for (const fn of [...this.#closers]) fn();
    this.#closers.clear();
  }
}
