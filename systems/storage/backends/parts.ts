// The checks of CompleteMultipartUpload, shared by both backends (S3's own rules and codes).
import { StorageError } from '../errors.ts';
import { normalizeEtag } from '../http.ts';
import type { CompletePart, PartInfo } from './types.ts';

export const MIN_PART_NUMBER = 1;
export const MAX_PART_NUMBER = 10_000;

export function checkPartNumber(n: number): void {
  if (!Number.isInteger(n) || n < MIN_PART_NUMBER || n > MAX_PART_NUMBER) {
    throw new StorageError(
      'STORAGE_INVALID_PART_NUMBER',
      `Part number must be an integer between ${MIN_PART_NUMBER} and ${MAX_PART_NUMBER}, inclusive (got ${n})`,
    );
  }
}

/** Returns the stored parts named by `requested`, in order; throws the S3-style error otherwise. */
export function checkCompleteParts(
  requested: CompletePart[],
  stored: PartInfo[],
  minPartBytes: number,
): PartInfo[] {
  if (requested.length === 0) {
    throw new StorageError('STORAGE_INVALID_PART_ORDER', 'the parts list is empty; name at least one part');
  }
  const byNumber = new Map(stored.map((p) => [p.partNumber, p]));
  const chosen: PartInfo[] = [];
  let previous = 0;
  for (const r of requested) {
    checkPartNumber(r.partNumber);
    if (r.partNumber <= previous) {
      throw new StorageError(
        'STORAGE_INVALID_PART_ORDER',
        `parts must be listed in strictly ascending part_number order (${r.partNumber} after ${previous})`,
      );
    }
    previous = r.partNumber;
    const part = byNumber.get(r.partNumber);
    if (!part) throw new StorageError('STORAGE_INVALID_PART', `part ${r.partNumber} was not uploaded`);
    if (part.etag !== normalizeEtag(r.etag)) {
      throw new StorageError(
        'STORAGE_INVALID_PART',
        `part ${r.partNumber}: ETag ${r.etag} does not match the stored part (${part.etag})`,
      );
    }
    chosen.push(part);
  }
  chosen.slice(0, -1).forEach((p) => {
    if (p.size < minPartBytes) {
      throw new StorageError(
        'STORAGE_PART_TOO_SMALL',
        `part ${p.partNumber} is ${p.size} bytes; every part but the last needs at least ${minPartBytes}`,
      );
    }
  });
  return chosen;
}
