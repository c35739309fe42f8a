// The manifest that coordinates a producer with its consumers: a status and an append-only list of
// chunks (each an object in storage), plus any extra fields the producer wants to publish.
import { z } from 'zod';
import { StorageError } from './errors.ts';
import { KeySchema } from './keys.ts';

export const MANIFEST_STATUSES = ['generating', 'completed', 'failed'] as const;
export type ManifestStatus = (typeof MANIFEST_STATUSES)[number];

export const ChunkSchema = z.looseObject({
  name: z.string().min(1).max(1024),
  key: KeySchema,
  size: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
  index: z.number().int().min(0),
});
export type Chunk = z.infer<typeof ChunkSchema>;

export const ManifestSchema = z.looseObject({
  status: z.enum(MANIFEST_STATUSES),
  chunks: z.array(ChunkSchema).max(100_000),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** Final states: nothing may change after them. */
export function isFinal(status: ManifestStatus): boolean {
  return status === 'completed' || status === 'failed';
}

/** Validates a manifest body: the schema, then chunk indexes 0..n-1 in order. */
export function parseManifest(body: unknown): Manifest {
  const parsed = ManifestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'body';
    throw new StorageError('STORAGE_MANIFEST_INVALID', `manifest ${where}: ${issue?.message ?? 'invalid'}`);
  }
  parsed.data.chunks.forEach((c, i) => {
    if (c.index !== i) {
      throw new StorageError(
        'STORAGE_MANIFEST_INVALID',
        `manifest chunks.${i}.index must be ${i} (chunks are indexed 0..n-1 in order; got ${c.index})`,
      );
    }
  });
  return parsed.data;
}

function sameChunk(a: Chunk, b: Chunk): boolean {
  return a.key === b.key && a.sha256 === b.sha256 && a.size === b.size && a.name === b.name;
}

/**
 * An update may only append chunks (like a live HLS playlist), and a completed or failed manifest
 * does not change any more. A write identical to the current manifest is always allowed.
 */
export function checkTransition(current: Manifest, next: Manifest, identical: boolean): void {
  if (identical) return;
  if (isFinal(current.status)) {
    throw new StorageError(
      'STORAGE_MANIFEST_NOT_APPENDABLE',
      `manifest is ${current.status}; it no longer changes (start a new version)`,
    );
  }
  if (next.chunks.length < current.chunks.length) {
    throw new StorageError(
      'STORAGE_MANIFEST_NOT_APPENDABLE',
      `update drops chunks: it lists ${next.chunks.length}, the manifest has ${current.chunks.length}`,
    );
  }
  current.chunks.forEach((c, i) => {
    const n = next.chunks[i] as Chunk;
    if (!sameChunk(c, n)) {
      throw new StorageError(
        'STORAGE_MANIFEST_NOT_APPENDABLE',
        `update changes published chunk ${i} (${c.key})`,
      );
    }
  });
}

/** The stored bytes of a manifest (its ETag is their MD5). */
export function serializeManifest(m: Manifest): Buffer {
  return Buffer.from(JSON.stringify(m));
}
