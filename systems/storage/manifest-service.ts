// Manifest semantics on top of a backend: validation, HTTP preconditions, append-only updates,
// the "latest" pointer, and change notification after each durable write.
import type { StorageBackend, StoredManifest } from './backends/types.ts';
import { StorageError } from './errors.ts';
import { ifMatchPasses, ifNoneMatchPasses, parseEtagList } from './http.ts';
import { type ManifestRef, refKey } from './keys.ts';
import { checkTransition, parseManifest, serializeManifest } from './manifest.ts';
import type { WatchHub } from './watch-hub.ts';

export interface Preconditions {
  ifMatch?: string | undefined;
  ifNoneMatch?: string | undefined;
}

export interface VersionSummary {
  versionId: string;
  etag: string;
  status: string;
  chunkCount: number;
  createdAt: number;
  updatedAt: number;
  latest: boolean;
}

export class ManifestService {
  readonly #backend: StorageBackend;
  readonly #hub: WatchHub;
  readonly #maxBytes: number;

  constructor(backend: StorageBackend, hub: WatchHub, maxManifestBytes: number) {
    this.#backend = backend;
    this.#hub = hub;
    this.#maxBytes = maxManifestBytes;
  }

  get(ref: ManifestRef): Promise<StoredManifest | undefined> {
    return this.#backend.getManifest(ref);
  }

  async require(ref: ManifestRef): Promise<StoredManifest> {
    const m = await this.get(ref);
    if (!m) throw new StorageError('STORAGE_NOT_FOUND', `no manifest for ${refKey(ref)}`);
    return m;
  }

  /**
   * Creates (If-None-Match: *) or updates (If-Match: <etag>) a manifest. The preconditions are
   * judged against the current manifest, and the write itself is a compare-and-swap against that
   * same ETag, so of two racing writers exactly one wins and the other gets 412.
   */
  async put(
    ref: ManifestRef,
    body: unknown,
    pre: Preconditions,
  ): Promise<{ stored: StoredManifest; created: boolean }> {
    if (pre.ifMatch === undefined && pre.ifNoneMatch === undefined) {
      throw new StorageError(
        'STORAGE_PRECONDITION_REQUIRED',
        'manifest writes are conditional: send If-None-Match: * to create, If-Match: <etag> to update',
      );
    }
    if (pre.ifNoneMatch !== undefined && parseEtagList(pre.ifNoneMatch) !== '*') {
      throw new StorageError('STORAGE_INVALID_INPUT', 'If-None-Match on a manifest write accepts only *');
    }
    const manifest = parseManifest(body);
    const bytes = serializeManifest(manifest);
    if (bytes.length > this.#maxBytes) {
      throw new StorageError(
        'STORAGE_MANIFEST_TOO_LARGE',
        `manifest is ${bytes.length} bytes; maxManifestBytes is ${this.#maxBytes}`,
      );
    }
    const current = await this.#backend.getManifest(ref);
    if (pre.ifMatch !== undefined && !ifMatchPasses(pre.ifMatch, current?.etag)) {
      throw new StorageError(
        'STORAGE_PRECONDITION_FAILED',
        current
          ? `If-Match ${pre.ifMatch} does not match the current ETag; re-read the manifest and retry`
          : `no manifest for ${refKey(ref)}; create it with If-None-Match: *`,
      );
    }
    if (pre.ifNoneMatch !== undefined && !ifNoneMatchPasses(pre.ifNoneMatch, current?.etag)) {
      throw new StorageError('STORAGE_PRECONDITION_FAILED', `manifest ${refKey(ref)} already exists`);
    }
    if (current) {
      const identical = current.bytes.equals(bytes);
      checkTransition(current.manifest, manifest, identical);
      if (identical) return { stored: current, created: false };
    }
    const stored = await this.#backend.putManifest(
      ref,
      bytes,
      current ? { ifMatch: current.etag } : { ifNoneMatch: '*' },
    );
    this.#hub.publish(refKey(ref), {
      ref,
      etag: stored.etag,
      manifest: stored.manifest,
      updatedAt: stored.updatedAt,
    });
    return { stored, created: !current };
  }

  /** The published version, or else the most recently created one. */
  async latest(userId: string, blockId: string): Promise<{ versionId: string; stored: StoredManifest }> {
    const pointer = await this.#backend.getLatest(userId, blockId);
    if (pointer) {
      const stored = await this.get({ userId, blockId, versionId: pointer.versionId });
      if (stored) return { versionId: pointer.versionId, stored };
    }
    const all = await this.#backend.listManifests(userId, blockId);
    const newest = all.at(-1);
    if (!newest) throw new StorageError('STORAGE_NOT_FOUND', `no versions for ${userId}/${blockId}`);
    return { versionId: newest.versionId, stored: newest };
  }

  async versions(
    userId: string,
    blockId: string,
  ): Promise<{ latest: string | undefined; versions: VersionSummary[] }> {
    const [all, pointer] = await Promise.all([
      this.#backend.listManifests(userId, blockId),
      this.#backend.getLatest(userId, blockId),
    ]);
    const latest =
      pointer && all.some((m) => m.versionId === pointer.versionId)
        ? pointer.versionId
        : all.at(-1)?.versionId;
    return {
      latest,
      versions: all.map((m) => ({
        versionId: m.versionId,
        etag: m.etag,
        status: m.manifest.status,
        chunkCount: m.manifest.chunks.length,
        createdAt: m.createdAt,
        updatedAt: m.updatedAt,
        latest: m.versionId === latest,
      })),
    };
  }

  async publish(ref: ManifestRef): Promise<{ publishedAt: number }> {
    await this.require(ref);
    const publishedAt = Date.now();
    await this.#backend.setLatest(ref.userId, ref.blockId, { versionId: ref.versionId, publishedAt });
    return { publishedAt };
  }
}
