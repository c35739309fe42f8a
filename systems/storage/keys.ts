// Ids and object keys. A key is `user_id/block_id/version_id/file_name`; each segment is a safe
// name, so a key can never leave the storage root whatever the backend does with it.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { StorageError } from './errors.ts';

/** A letter or digit first, then letters, digits, `.`, `_`, `-`; never `..`. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ID_MAX = 128;
const FILE_NAME_MAX = 255;
export const KEY_MAX = 3 * ID_MAX + FILE_NAME_MAX + 3;

/** Why `value` is not a safe segment, or undefined when it is. */
export function segmentProblem(value: string, max: number): string | undefined {
  if (value.length === 0) return 'is empty';
  if (value.length > max) return `is longer than ${max} characters`;
  if (value.includes('\0')) return 'contains NUL';
  if (value.includes('/') || value.includes('\\')) return 'contains a path separator';
  if (value.includes('..')) return 'contains ..';
  if (value.includes('%')) return 'contains % (encoded characters are not allowed)';
  if (!SEGMENT.test(value))
    return 'must start with a letter or digit and hold only letters, digits, ., _ and -';
  return undefined;
}

function segment(max: number) {
  return z.string().superRefine((v, ctx) => {
    const problem = segmentProblem(v, max);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, params: { badKey: true } });
  });
}

export const IdSchema = segment(ID_MAX);
export const FileNameSchema = segment(FILE_NAME_MAX);

export interface KeyParts {
  userId: string;
  blockId: string;
  versionId: string;
  fileName: string;
}

export function objectKey(p: KeyParts): string {
  return `${p.userId}/${p.blockId}/${p.versionId}/${p.fileName}`;
}

/** Splits and checks a key; throws STORAGE_BAD_KEY (and touches nothing) when it is not one of ours. */
export function parseKey(key: string): KeyParts {
  if (key.length === 0 || key.length > KEY_MAX) {
    throw new StorageError('STORAGE_BAD_KEY', `key must be 1-${KEY_MAX} characters`);
  }
  if (key.startsWith('/') || /^[A-Za-z]:/.test(key)) {
    throw new StorageError('STORAGE_BAD_KEY', 'key must be relative (user_id/block_id/version_id/file_name)');
  }
  if (key.includes('\\')) throw new StorageError('STORAGE_BAD_KEY', 'key must not contain a backslash');
  if (key.includes('\0')) throw new StorageError('STORAGE_BAD_KEY', 'key must not contain NUL');
  const parts = key.split('/');
  if (parts.length !== 4) {
    throw new StorageError(
      'STORAGE_BAD_KEY',
      `key must have 4 segments user_id/block_id/version_id/file_name (got ${parts.length})`,
    );
  }
  const [userId, blockId, versionId, fileName] = parts as [string, string, string, string];
  const names = ['user_id', 'block_id', 'version_id', 'file_name'];
  [userId, blockId, versionId, fileName].forEach((seg, i) => {
    const problem = segmentProblem(seg, i === 3 ? FILE_NAME_MAX : ID_MAX);
    if (problem) throw new StorageError('STORAGE_BAD_KEY', `key segment ${names[i]} ${problem}`);
  });
  return { userId, blockId, versionId, fileName };
}

export const KeySchema = z.string().superRefine((v, ctx) => {
  try {
    parseKey(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message, params: { badKey: true } });
  }
});

/** A manifest is addressed by user, block and version. */
export interface ManifestRef {
  userId: string;
  blockId: string;
  versionId: string;
}

export function refKey(r: ManifestRef): string {
  return `${r.userId}/${r.blockId}/${r.versionId}`;
}

/** A new version id: sortable by creation time (base-36 ms), then random. */
export function newVersionId(now = Date.now()): string {
  return `v${now.toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}`;
}

export function newUploadId(): string {
  return randomBytes(16).toString('hex');
}

export const UploadIdSchema = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lower-case hex digits');
