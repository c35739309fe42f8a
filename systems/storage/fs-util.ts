// Durable file operations: atomic replace (temp + fsync + rename + fsync of the directory) and
// spooling a request body to a temp file while counting and hashing it.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StorageError } from './errors.ts';

/** Temp files carry this marker; a restart removes any it finds (they were never published). */
export const TEMP_MARKER = '.tmp-';

export function tempName(target: string): string {
  return path.join(
    path.dirname(target),
    `${TEMP_MARKER}${path.basename(target)}-${randomBytes(6).toString('hex')}`,
  );
}

/** fsync flushes the file, whichever descriptor wrote it; a directory is opened read-only. */
export async function fsyncFile(file: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to `target` so that a reader (or a crash) sees either the old file or the new one. */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = tempName(target);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(path.dirname(target));
}

/** Moves an fsynced file into place and makes the rename durable. */
export async function renameDurable(from: string, to: string): Promise<void> {
  await mkdir(path.dirname(to), { recursive: true });
  await rename(from, to);
  await fsyncDir(path.dirname(to));
}

/** A request body on disk: the caller (a backend) owns the file and moves or removes it. */
export interface SpooledBody {
  path: string;
  size: number;
  md5: Buffer;
  sha256: string;
}

class CountingHasher extends Transform {
  size = 0;
  readonly md5 = createHash('md5');
  readonly sha256 = createHash('sha256');
  constructor(
    private readonly maxBytes: number,
    private readonly drainBytes: number,
  ) {
    super();
  }
  get overflow(): boolean {
    return this.size > this.maxBytes;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.overflow) {
      // Past the limit: stop storing, but read on (up to drainBytes) so that the client, still
      // sending, gets the 413 instead of a reset connection.
      done(this.size > this.drainBytes ? tooLarge(this.maxBytes) : null);
      return;
    }
    this.md5.update(chunk);
    this.sha256.update(chunk);
    done(null, chunk);
  }
}

function tooLarge(maxBytes: number): StorageError {
  return new StorageError(
    'STORAGE_PART_TOO_LARGE',
    `body exceeds maxPartBytes (${maxBytes} bytes); nothing was stored`,
  );
}

/**
 * Streams `body` into a new file under `dir`, fsynced, counting bytes and hashing (MD5 for the
 * ETag, SHA-256 for integrity). Past `maxBytes` nothing more is written and, once the body has
 * been read (at most `drainBytes`), STORAGE_PART_TOO_LARGE is thrown. On any failure the file is
 * removed; memory use is one stream buffer, whatever the size.
 */
export async function spoolBody(
  body: NodeJS.ReadableStream,
  dir: string,
  maxBytes: number,
  drainBytes = maxBytes,
): Promise<SpooledBody> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${TEMP_MARKER}spool-${randomBytes(8).toString('hex')}`);
  const counter = new CountingHasher(maxBytes, Math.max(maxBytes, drainBytes));
  try {
    await pipeline(body, counter, createWriteStream(file, { flags: 'wx' }));
    if (counter.overflow) throw tooLarge(maxBytes);
    await fsyncFile(file);
  } catch (e) {
    await rm(file, { force: true });
    throw e;
  }
  return { path: file, size: counter.size, md5: counter.md5.digest(), sha256: counter.sha256.digest('hex') };
}
