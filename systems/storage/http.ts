// HTTP validators and byte ranges (RFC 9110 sections 8.8.3, 13 and 14), and the S3-style ETags.
import { createHash } from 'node:crypto';

/** `"<md5 hex>"`: the ETag of a single-part object (as S3 gives for a plain PUT). */
export function md5Etag(md5: Buffer): string {
  return `"${md5.toString('hex')}"`;
}

/**
 * `"<hex>"` of a body's ETag digest (SpooledBody.etagDigest): on the fs backend the first 16 bytes
 * of the SHA-256 it computes anyway, since an ETag is opaque and a second hash (MD5, as S3 uses)
 * cost as much as the rest of an upload.
 */
export function digestEtag(digest: Buffer): string {
  return `"${digest.toString('hex')}"`;
}

/** `"<md5 of the concatenated binary part md5s>-<n>"`: the ETag of a multipart object. */
export function multipartEtag(partMd5s: Buffer[]): string {
  const h = createHash('md5');
  for (const m of partMd5s) h.update(m);
  return `"${h.digest('hex')}-${partMd5s.length}"`;
}

/** A quoted ETag from `abc`, `"abc"` or `W/"abc"` as clients send it in a body. */
export function normalizeEtag(tag: string): string {
  const t = tag.trim();
  if (t.startsWith('W/') || t.startsWith('"')) return t;
  return `"${t}"`;
}

/** Parses an If-Match / If-None-Match value: `*` or a list of entity tags. */
export function parseEtagList(header: string): '*' | string[] {
  const value = header.trim();
  if (value === '*') return '*';
  const tags: string[] = [];
  const re = /\s*(W\/)?"([^"]*)"\s*(?:,|$)/gy;
  let m: RegExpExecArray | null = re.exec(value);
  while (m !== null) {
    tags.push(`${m[1] ?? ''}"${m[2]}"`);
    if (re.lastIndex >= value.length) break;
    m = re.exec(value);
  }
  // Tolerate a bare token (some clients drop the quotes).
  if (tags.length === 0 && value.length > 0 && !value.includes(',')) tags.push(normalizeEtag(value));
  return tags;
}

/** Strong comparison: both strong and identical (If-Match, If-Range). */
export function strongMatch(a: string, b: string): boolean {
  return !a.startsWith('W/') && !b.startsWith('W/') && a === b;
}

/** Weak comparison: identical once `W/` is ignored (If-None-Match). */
export function weakMatch(a: string, b: string): boolean {
  return a.replace(/^W\//, '') === b.replace(/^W\//, '');
}

/** If-Match against the current tag (undefined: no current representation). */
export function ifMatchPasses(header: string, current: string | undefined): boolean {
  if (current === undefined) return false;
  const list = parseEtagList(header);
  return list === '*' || list.some((t) => strongMatch(t, current));
}

/** If-None-Match against the current tag: false when `*` and it exists, or a listed tag matches. */
export function ifNoneMatchPasses(header: string, current: string | undefined): boolean {
  if (current === undefined) return true;
  const list = parseEtagList(header);
  return list !== '*' && !list.some((t) => weakMatch(t, current));
}

export type RangeResult =
  | { kind: 'none' }
  | { kind: 'range'; start: number; end: number }
  | { kind: 'unsatisfiable' };

/**
 * One byte range of a `size`-byte representation: `bytes=a-b`, `bytes=a-`, `bytes=-n`. A header
 * that does not parse, or that asks for several ranges, is ignored (`none`: send the whole body),
 * which RFC 9110 allows.
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return { kind: 'none' };
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return { kind: 'none' };
  if (a === '') {
    const suffix = Number(b);
    if (!Number.isSafeInteger(suffix)) return { kind: 'none' };
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  const last = b === '' ? Number.MAX_SAFE_INTEGER : Number(b);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(last) || last < start) return { kind: 'none' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end: Math.min(last, size - 1) };
}
