import { fdatasync, fdatasyncSync, writeSync, writev } from 'node:fs';

/**
 * The calls that put journal bytes on the device: the one seam for injecting I/O faults
 * (`OpenOptions.io`). Opening, reading, truncating and renaming always use node:fs.
 */
export interface JournalIo {
  /** write(2) of `buffer` from `offset` at the end of the file; returns the bytes written (may be short). */
  writeSync(fd: number, buffer: Buffer, offset: number): number;
  /** writev(2) of `buffers` at the end of the file; `written` may be short of their total. */
  writev(
    fd: number,
    buffers: Buffer[],
    callback: (error: NodeJS.ErrnoException | null, written: number) => void,
  ): void;
  fdatasync(fd: number, callback: (error: NodeJS.ErrnoException | null) => void): void;
  fdatasyncSync(fd: number): void;
}

/** The real thing. */
export const NODE_JOURNAL_IO: JournalIo = Object.freeze({
  writeSync: (fd: number, buffer: Buffer, offset: number) => writeSync(fd, buffer, offset),
  writev: (
    fd: number,
    buffers: Buffer[],
    callback: (error: NodeJS.ErrnoException | null, written: number) => void,
  ) => writev(fd, buffers, (error, written) => callback(error, written)),
  fdatasync: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => fdatasync(fd, callback),
  fdatasyncSync: (fd: number) => fdatasyncSync(fd),
});

export function isJournalIo(value: unknown): value is JournalIo {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return ['writeSync', 'writev', 'fdatasync', 'fdatasyncSync'].every((k) => typeof v[k] === 'function');
}

/** Write all of `buffer` through `io`, looping over short writes; throws the write's error. */
export function writeFully(io: JournalIo, fd: number, buffer: Buffer): void {
  let written = 0;
  while (written < buffer.length) written += io.writeSync(fd, buffer, written);
}

function noSpace(syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOSPC: no space left on device, ${syscall}`), {
    code: 'ENOSPC',
    errno: -28,
    syscall,
  });
}

/**
 * Fault injection for machines where a small filesystem cannot be mounted: real node:fs calls
 * on a device that holds `free` more bytes. A write that does not fit writes what fits (a short
 * write, as a full filesystem does at its last block), the next one fails with ENOSPC. Raise
 * `free` to give space back. Truncating a file does not give space back (a simplification).
 */
export class SpaceLimitedIo implements JournalIo {
  /** Bytes the device still takes; Infinity for no limit. */
  free: number;
  /** Writes refused with ENOSPC so far. */
  refused = 0;

  constructor(free = Number.POSITIVE_INFINITY) {
    this.free = free;
  }

  /** How many of `length` bytes fit; throws ENOSPC when none does. */
  private take(length: number, syscall: string): number {
    if (length > 0 && this.free <= 0) {
      this.refused++;
      throw noSpace(syscall);
    }
    const n = Math.min(length, this.free);
    this.free -= n;
    return n;
  }

  writeSync(fd: number, buffer: Buffer, offset: number): number {
    const n = this.take(buffer.length - offset, 'write');
    return writeSync(fd, buffer, offset, n);
  }

  writev(
    fd: number,
    buffers: Buffer[],
    callback: (error: NodeJS.ErrnoException | null, written: number) => void,
  ): void {
    let n: number;
    try {
      n = this.take(
        buffers.reduce((sum, b) => sum + b.length, 0),
        'write',
      );
    } catch (error) {
      queueMicrotask(() => callback(error as NodeJS.ErrnoException, 0));
      return;
    }
    writev(fd, [Buffer.concat(buffers).subarray(0, n)], (error, written) => callback(error, written));
  }

  fdatasync(fd: number, callback: (error: NodeJS.ErrnoException | null) => void): void {
    fdatasync(fd, callback);
  }

  fdatasyncSync(fd: number): void {
    fdatasyncSync(fd);
  }
}
