// A producer of a chunked stream: each append() stores the bytes as an object, then appends the
// chunk to the manifest with a compare-and-swap (If-Match). On 412 it re-reads the manifest and
// tries again, so any number of producers (or concurrent appends) lose no chunk and list none twice.
import { createHash, randomBytes } from 'node:crypto';
import { isStorageError, StorageError } from '../errors.ts';
import { type ManifestRef, newVersionId } from '../keys.ts';
import type { Chunk, Manifest } from '../manifest.ts';
import type { ManifestState, StorageClient } from './storage-client.ts';

export interface StreamProducerOptions {
  userId: string;
  blockId: string;
  /** Default: a new, time-sortable id. */
  versionId?: string;
  contentType?: string;
  /** Extra fields written into the manifest when it is created. */
  extra?: Record<string, unknown>;
  /** When the manifest already exists and is generating: 'join' it (default) or throw. */
  onExisting?: 'join' | 'error';
  /** Publish the version as the block's latest when it is created. Default false. */
  publish?: boolean;
  /** Manifest updates tried before STORAGE_CONFLICT_RETRIES_EXHAUSTED. Default 100. */
  maxRetries?: number;
  /** Chunks above this many bytes go up as multipart uploads of this part size. Default 8 MiB. */
  partSize?: number;
}

export interface AppendedChunk {
  index: number;
  key: string;
  name: string;
  size: number;
  sha256: string;
  /** The manifest ETag after this append. */
  etag: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class StreamProducer {
  readonly ref: ManifestRef;
  readonly #client: StorageClient;
  readonly #opts: StreamProducerOptions;
  #state: ManifestState | undefined;
  #seq = 0;
  #started: Promise<void> | undefined;
  /** Whether a create was sent before (its answer may have been lost). */
  #createTried = false;
  /** Keys of the chunks this producer has seen listed: a finish found done must list them all. */
  readonly #listed = new Set<string>();
  /** Manifest commits run in append() call order; uploads run ahead of them. */
  #commits: Promise<unknown> = Promise.resolve();
  readonly #tag = randomBytes(3).toString('hex');

  constructor(client: StorageClient, options: StreamProducerOptions) {
    this.#client = client;
    this.#opts = options;
    this.ref = {
      userId: options.userId,
      blockId: options.blockId,
      versionId: options.versionId ?? newVersionId(),
    };
  }

  get versionId(): string {
    return this.ref.versionId;
  }

  /** The manifest ETag this producer last wrote or read. */
  get etag(): string | undefined {
    return this.#state?.etag;
  }

  /**
   * Creates the manifest (If-None-Match: *), or joins an existing one that is still generating. A
   * failed start (the server unreachable, say) is forgotten, so the next call tries again; a create
   * that then finds the manifest already there (maybe our own earlier attempt, whose answer was
   * lost) adopts it when it is still generating.
   */
  start(): Promise<void> {
    this.#started ??= this.#create().catch((e: unknown) => {
      this.#started = undefined;
      throw e;
    });
    return this.#started;
  }

  async #create(): Promise<void> {
    const manifest: Manifest = { ...this.#opts.extra, status: 'generating', chunks: [] };
    const retry = this.#createTried;
    this.#createTried = true;
    try {
      const { etag } = await this.#client.putManifest(this.ref, manifest, { ifNoneMatch: '*' });
      this.#state = { etag, manifest };
      if (this.#opts.publish) await this.#client.publishVersion(this.ref);
      return;
    } catch (e) {
      if (!isStorageError(e, 'STORAGE_PRECONDITION_FAILED')) throw e;
      const current = await this.#read();
      // after an unanswered attempt, an empty generating manifest is most likely our own create
      const ours = retry && current.manifest.status === 'generating' && current.manifest.chunks.length === 0;
      if (this.#opts.onExisting === 'error' && !ours) throw e;
      if (current.manifest.status !== 'generating') {
        throw new StorageError(
          'STORAGE_MANIFEST_NOT_APPENDABLE',
          `version ${this.ref.versionId} exists and is ${current.manifest.status}`,
        );
      }
      if (ours && this.#opts.publish) await this.#client.publishVersion(this.ref);
    }
  }

  async #read(): Promise<ManifestState> {
    const got = await this.#client.getManifest(this.ref);
    if (got === undefined || got === 'not-modified') {
      throw new StorageError('STORAGE_NOT_FOUND', `manifest ${this.ref.versionId} vanished`);
    }
    this.#state = got;
    return got;
  }

  /**
   * Compare-and-swap loop: `change` maps the current manifest to the next one, or to undefined when
   * there is nothing to do (e.g. a retry finds its chunk already listed).
   */
  async #update(change: (m: Manifest) => Manifest | undefined): Promise<ManifestState> {
    const maxRetries = this.#opts.maxRetries ?? 100;
    for (let attempt = 0; attempt < maxRetries; attempt++) {
      const current = this.#state ?? (await this.#read());
      const next = change(current.manifest);
      if (!next) return current;
      try {
        const { etag } = await this.#client.putManifest(this.ref, next, { ifMatch: current.etag });
        this.#state = { etag, manifest: next };
        return this.#state;
      } catch (e) {
        if (isStorageError(e, 'STORAGE_MANIFEST_NOT_APPENDABLE')) {
          // our state is stale (an earlier write landed unanswered?): judge the change on the current one
          const fresh = await this.#read();
          if (change(fresh.manifest) === undefined) return fresh;
          throw e;
        }
        if (!isStorageError(e, 'STORAGE_PRECONDITION_FAILED')) throw e;
        this.#state = undefined;
        // Back off a little, randomly, so that racing writers do not collide in lock step.
        await sleep(Math.random() * Math.min(50, 2 ** Math.min(attempt, 6)));
      }
    }
    throw new StorageError(
      'STORAGE_CONFLICT_RETRIES_EXHAUSTED',
      `manifest ${this.ref.versionId}: ${maxRetries} conditional updates in a row lost the race`,
    );
  }

  /** Stores `bytes` as the next chunk and lists it in the manifest. */
  async append(bytes: Uint8Array, opts: { name?: string } = {}): Promise<AppendedChunk> {
    await this.start();
    const seq = ++this.#seq;
    const fileName = `chunk-${String(seq).padStart(6, '0')}-${this.#tag}${randomBytes(2).toString('hex')}`;
    const name = opts.name ?? fileName;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const upload = this.#client.uploadObject(
      {
        userId: this.ref.userId,
        blockId: this.ref.blockId,
        versionId: this.ref.versionId,
        fileName,
        contentType: this.#opts.contentType ?? 'application/octet-stream',
      },
      bytes,
      this.#opts.partSize ? { partSize: this.#opts.partSize } : {},
    );
    const previous = this.#commits;
    const commit = (async () => {
      const object = await upload;
      await previous.catch(() => undefined);
      let index = -1;
      const state = await this.#update((m) => {
        const existing = m.chunks.find((c) => c.key === object.key);
        if (existing) {
          index = existing.index;
          this.#listed.add(object.key);
          return undefined;
        }
        if (m.status !== 'generating') {
          throw new StorageError('STORAGE_MANIFEST_NOT_APPENDABLE', `manifest is ${m.status}; cannot append`);
        }
        index = m.chunks.length;
        const chunk: Chunk = { name, key: object.key, size: bytes.length, sha256, index };
        return { ...m, chunks: [...m.chunks, chunk] };
      });
      this.#listed.add(object.key);
      return { index, key: object.key, name, size: bytes.length, sha256, etag: state.etag };
    })();
    this.#commits = commit;
    return commit;
  }

  /**
   * Waits for pending appends, then marks the stream completed (with optional extra fields).
   * Idempotent: a retry after a finish that landed unanswered, or a producer that joins a stream
   * already completed with every chunk it listed, succeeds with the current ETag.
   */
  async finish(extra: Record<string, unknown> = {}): Promise<string> {
    return (await this.#final('completed', extra)).etag;
  }

  /** Waits for pending appends, then marks the stream failed with `reason`; idempotent like finish(). */
  async fail(reason: string, extra: Record<string, unknown> = {}): Promise<string> {
    return (await this.#final('failed', { ...extra, error: reason })).etag;
  }

  async #final(status: 'completed' | 'failed', extra: Record<string, unknown>): Promise<ManifestState> {
    try {
      await this.start();
    } catch (e) {
      // the manifest is already final (start read it): #update below judges which way
      if (!isStorageError(e, 'STORAGE_MANIFEST_NOT_APPENDABLE')) throw e;
    }
    await this.#commits.catch(() => undefined);
    return this.#update((m) => {
      if (m.status === status) {
        const keys = new Set(m.chunks.map((c) => c.key));
        const missing = [...this.#listed].filter((k) => !keys.has(k));
        if (missing.length === 0) return undefined;
        throw new StorageError(
          'STORAGE_MANIFEST_NOT_APPENDABLE',
          `manifest is ${status} without ${missing.length} chunk(s) this producer listed`,
        );
      }
      if (m.status !== 'generating') {
        throw new StorageError('STORAGE_MANIFEST_NOT_APPENDABLE', `manifest is already ${m.status}`);
      }
      return { ...m, ...extra, status, chunks: m.chunks };
    });
  }
}
