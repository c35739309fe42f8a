import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { fromProto, toProto } from './convert-proto.ts';
import { StateStoreError } from './errors.ts';
import { type JournalIo, NODE_JOURNAL_IO, writeFully } from './journal-io.ts';
import type { FsmSnapshot } from './schema.ts';

/**
 * Journal file layout: an 8-byte header `RIGSSJ1\n`, then records, each framed as
 * [u32 LE payload length][u32 LE CRC-32 of the payload][payload = protobuf FsmSnapshot].
 * Records are only ever appended, so a crash can tear the last record only.
 */
export const JOURNAL_HEADER = Buffer.from('RIGSSJ1\n', 'latin1');
export const FRAME_HEADER_BYTES = 8;
/** A record larger than this is treated as a damaged length field. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export function encodeRecord(snapshot: FsmSnapshot): Buffer {
  const payload = toProto(snapshot);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

export interface RecoveryResult {
  /** The last intact snapshot, undefined for a new or empty journal. */
  last: FsmSnapshot | undefined;
  /** Intact records found. */
  records: number;
  /** Length of the intact prefix (header + intact records). */
  validBytes: number;
  /** Bytes dropped from the end (a torn or damaged tail), 0 when the file was clean. */
  droppedBytes: number;
  /** Why bytes were dropped, when they were. */
  dropReason: string | undefined;
  /**
   * Whether open() rewrote the journal to its last record. False when there was nothing to
   * compact, with `compact: false`, or when the rewrite failed (a full disk: see compactError);
   * the journal is then kept as it was, its torn tail cut off.
   */
  compacted?: boolean;
  /** Why compaction on open failed, when it did. */
  compactError?: string;
}

/**
 * Scan a journal's bytes. A record cut short by the end of the file, or the final record with a
 * bad checksum, is a torn tail: it is reported in droppedBytes and never applied. A bad record
 * with intact-looking data after it is damage in the middle: STATE_JOURNAL_CORRUPT, unless
 * onCorruption is 'truncate' (then everything from the bad record on is dropped).
 */
export function scanJournal(bytes: Buffer, onCorruption: 'error' | 'truncate' = 'error'): RecoveryResult {
  const size = bytes.length;
  if (size < JOURNAL_HEADER.length) {
    // A crash while the header was being written: nothing was ever acknowledged.
    return {
      last: undefined,
      records: 0,
      validBytes: 0,
      droppedBytes: size,
      dropReason: size ? 'torn header' : undefined,
    };
  }
  if (!bytes.subarray(0, JOURNAL_HEADER.length).equals(JOURNAL_HEADER)) {
    throw new StateStoreError(
      'STATE_JOURNAL_CORRUPT',
      'the file does not start with the state-store journal header',
    );
  }
  let offset = JOURNAL_HEADER.length;
  let records = 0;
  let lastStart = -1;
  let lastEnd = -1;
  let dropReason: string | undefined;
  while (offset < size) {
    if (size - offset < FRAME_HEADER_BYTES) {
      dropReason = `torn frame header at byte ${offset}`;
      break;
    }
    const length = bytes.readUInt32LE(offset);
    const end = offset + FRAME_HEADER_BYTES + length;
    if (end > size) {
      dropReason = `record at byte ${offset} needs ${length} bytes, the file ends first (torn write)`;
      break;
    }
    const payload = bytes.subarray(offset + FRAME_HEADER_BYTES, end);
    if (length > MAX_RECORD_BYTES || crc32(payload) !== bytes.readUInt32LE(offset + 4)) {
      if (end === size) {
        dropReason = `last record at byte ${offset} fails its checksum (torn write)`;
        break;
      }
      if (onCorruption === 'truncate') {
        dropReason = `record at byte ${offset} fails its checksum; ${size - offset} bytes dropped`;
        break;
      }
      throw new StateStoreError(
        'STATE_JOURNAL_CORRUPT',
        `record ${records + 1} at byte ${offset} fails its checksum and ${size - end} bytes follow it`,
      );
    }
    records++;
    lastStart = offset;
    lastEnd = end;
    offset = end;
  }
  let last: FsmSnapshot | undefined;
  if (lastStart >= 0) {
    try {
      last = fromProto(bytes.subarray(lastStart + FRAME_HEADER_BYTES, lastEnd));
    } catch (error) {
      throw new StateStoreError(
        'STATE_JOURNAL_CORRUPT',
        `record at byte ${lastStart} has a valid checksum but does not decode`,
        {
          cause: error,
        },
      );
    }
  }
  const validBytes = lastEnd >= 0 ? lastEnd : JOURNAL_HEADER.length;
  return { last, records, validBytes, droppedBytes: size - validBytes, dropReason };
}

/**
 * Every intact record of a journal's bytes, decoded, in file order; stops at the first record cut
 * short or failing its checksum. For tools and tests: open() reads the last record only.
 */
export function journalSnapshots(bytes: Buffer): FsmSnapshot[] {
  const out: FsmSnapshot[] = [];
  let offset = JOURNAL_HEADER.length;
  while (bytes.length - offset >= FRAME_HEADER_BYTES) {
    const end = offset + FRAME_HEADER_BYTES + bytes.readUInt32LE(offset);
    if (end > bytes.length) break;
    const payload = bytes.subarray(offset + FRAME_HEADER_BYTES, end);
    if (crc32(payload) !== bytes.readUInt32LE(offset + 4)) break;
    out.push(fromProto(payload));
    offset = end;
  }
  return out;
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Atomically replace the journal with the header plus `lastRecord`: write a temp file, fsync it,
 * rename it over the journal, fsync the directory. A crash at any point leaves either the old
 * journal or the new one; a failure before the rename (a full disk) removes the temp file and
 * leaves the old journal as it was.
 */
export function rewriteJournal(
  file: string,
  lastRecord: Buffer | undefined,
  io: JournalIo = NODE_JOURNAL_IO,
): void {
  const tmp = `${file}.compact-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeFully(io, fd, JOURNAL_HEADER);
      if (lastRecord) writeFully(io, fd, lastRecord);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  // Past the rename nothing may throw: the caller must know that the file was replaced. Should the
  // directory's fsync fail, an OS crash may bring back the old journal, which ends with the same
  // record: either file recovers the same snapshot.
  try {
    fsyncDir(path.dirname(file));
  } catch {
    // see above
  }
}

/**
 * Open-time recovery: read the journal at `file`, cut a torn tail off the file, and (with
 * compact) rewrite it atomically to the header plus the last snapshot, so that the next restart
 * reads the live state only. A compaction that fails (a full disk) keeps the journal as it is,
 * torn tail cut: opening needs no free space unless the file has no intact header.
 */
export function recoverJournal(
  file: string,
  options: { onCorruption?: 'error' | 'truncate'; compact?: boolean; io?: JournalIo } = {},
): RecoveryResult {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new StateStoreError(
        'STATE_JOURNAL_IO',
        `cannot read journal ${file}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    bytes = Buffer.alloc(0);
  }
  const result: RecoveryResult = { ...scanJournal(bytes, options.onCorruption ?? 'error'), compacted: false };
  const io = options.io ?? NODE_JOURNAL_IO;
  try {
    if (result.validBytes < JOURNAL_HEADER.length) {
      rewriteJournal(file, undefined, io);
      return result;
    }
    if (options.compact !== false && result.records > 1) {
      try {
        rewriteJournal(file, encodeRecord(result.last!), io);
        result.compacted = true;
        return result;
      } catch (error) {
        result.compactError = (error as Error).message;
      }
    }
    if (result.droppedBytes > 0) truncateSync(file, result.validBytes);
  } catch (error) {
    throw new StateStoreError(
      'STATE_JOURNAL_IO',
      `cannot repair journal ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return result;
}
