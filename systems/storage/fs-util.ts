// Durable file operations: atomic replace (temp + fsync + rename + fsync of the directory) and
// spooling a request body to a temp file while counting and hashing it.
import { createHash, randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { StorageError } from './errors.ts';
import { Md5 } from './md5-worker.ts';

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
  /** The MD5 of the body, when the spool was asked for it (the s3 backend sends it as Content-MD5). */
  md5: Buffer | undefined;
  /** The digest an ETag is made of: the MD5 when there is one, else the first 16 bytes of the SHA-256. */
  etagDigest: Buffer;
  sha256: string;
}

function tooLarge(maxBytes: number): StorageError {
  return new StorageError(
    'STORAGE_PART_TOO_LARGE',
    `body exceeds maxPartBytes (${maxBytes} bytes); nothing was stored`,
  );
}

/** Received pieces (64 KiB off the socket) are gathered into writes and hash updates of this size. */
const BATCH_BYTES = 1 << 20;

/**
 * Streams `body` into a new file under `dir`, fsynced, counting bytes and hashing (MD5 for the
 * ETag, SHA-256 for integrity). The pieces are gathered into 1 MiB batches: each is hashed
 * SHA-256 here, handed to the MD5 worker (md5-worker.ts) and written while the next one arrives,
 * so a 16 MiB body costs 16 writes and one fsync, on the descriptor that wrote it. Past `maxBytes`
 * nothing more is written and, once the body has been read (at most `drainBytes`),
 * STORAGE_PART_TOO_LARGE is thrown. On any failure the file is removed; memory use is two
 * batches, whatever the size.
 */
export async function spoolBody(
  body: AsyncIterable<Buffer | Uint8Array | string>,
  dir: string,
  maxBytes: number,
  drainBytes = maxBytes,
  options: { md5?: boolean } = {},
): Promise<SpooledBody> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${TEMP_MARKER}spool-${randomBytes(8).toString('hex')}`);
  const limit = Math.max(maxBytes, drainBytes);
  const sha256 = createHash('sha256');
  const md5 = options.md5 ? new Md5() : undefined;
  let size = 0;
  let fh: FileHandle | undefined;
  try {
    fh = await open(file, 'wx');
    const out = fh;
    let writing: Promise<unknown> = Promise.resolve();
    let batch: Buffer[] = [];
    let batchBytes = 0;
    const flush = async () => {
      if (batchBytes === 0) return;
      // one buffer that owns its memory: the worker gets it without copying a socket's pool
      const data = Buffer.allocUnsafeSlow(batchBytes);
      let at = 0;
      for (const b of batch) at += b.copy(data, at);
      batch = [];
      batchBytes = 0;
      sha256.update(data);
      md5?.update(data);
      await writing; // one write in flight, in order, while the next batch arrives
      writing = out.write(data, 0, data.length);
      writing.catch(() => undefined); // handled: the next await of `writing` throws it
    };
    for await (const piece of body) {
      const chunk = Buffer.isBuffer(piece) ? piece : Buffer.from(piece);
      size += chunk.length;
      if (size > maxBytes) {
        // Past the limit: stop storing, but read on (up to drainBytes) so that the client, still
        // sending, gets the 413 instead of a reset connection.
        if (size > limit) break;
        continue;
      }
      batch.push(chunk);
      batchBytes += chunk.length;
      if (batchBytes >= BATCH_BYTES) await flush();
    }
    if (size > maxBytes) throw tooLarge(maxBytes);
    await flush();
    await writing;
    await out.sync();
    await out.close();
    fh = undefined;
    const digest = sha256.digest();
    const md5Digest = md5 ? await md5.digest() : undefined;
    return {
      path: file,
      size,
      md5: md5Digest,
      etagDigest: md5Digest ?? digest.subarray(0, 16),
      sha256: digest.toString('hex'),
    };
  } catch (e) {
    md5?.drop();
    await fh?.close().catch(() => undefined);
    await rm(file, { force: true });
    throw e;
  }
}
