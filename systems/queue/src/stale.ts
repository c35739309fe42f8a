import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { SEGMENT_PREFIX, SHM_DIR } from './native.ts';
import { queueUnavailableReason } from './platform.ts';

/** Where the fields read here sit in a layout-3 header (native/src/rq_core.c, rq_header). */
const OFFSETS = { version: 8, createdNs: 40, creatorPid: 48, messagesIn: 392, messagesOut: 648 } as const;
const MAGIC = 0x4555455551474952n; // "RIGQUEUE"
const LAYOUT_WITH_CREATOR = 3;
const HEADER_BYTES = 1024;

export interface SegmentInfo {
  /** The queue's name (Queue.open(name)). */
  name: string;
  path: string;
  bytes: number;
  /** Layout version in the header, undefined when the header is not a rig queue's. */
  layout?: number;
  /** The creating process (layout 3 on), and whether that very process still runs. */
  creatorPid?: number;
  creatorAlive: boolean;
  /** Processes that have the segment mapped now (read from /proc/<pid>/maps). */
  attachedPids: number[];
  /** Messages held (messages in - messages out), where the header is readable. */
  messages?: number;
  /** Stale: its creator and every attached process are dead. */
  stale: boolean;
  /** Why it is (or is not) stale, in words. */
  reason: string;
}

export interface Inspection {
  segments: SegmentInfo[];
  /**
   * Processes whose maps could not be read (another user's without root, or a non-dumpable one):
   * they are not counted as attached, and each stale segment's reason says how many there were.
   */
  unreadableProcesses: number;
}

/** Clock ticks per second of /proc/<pid>/stat start times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** Seconds since boot at which a process started, or undefined when it does not exist. */
function startedAt(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may hold spaces and parentheses: fields count from the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]) / USER_HZ; // field 22 of the whole line: starttime
  } catch {
    return undefined;
  }
}

/**
 * True when the process that created a segment at createdNs (CLOCK_MONOTONIC) still runs: the pid
 * exists and that process started before the segment was made (a reused pid started later).
 */
function creatorRuns(pid: number, createdNs: bigint): boolean {
  const started = startedAt(pid);
  if (started === undefined) return false;
  return started <= Number(createdNs) / 1e9 + 1;
}

/** pid -> the rig segments it has mapped, over every process whose maps this user may read. */
function attachments(): { byName: Map<string, number[]>; unreadable: number } {
  const byName = new Map<string, number[]>();
  let unreadable = 0;
  const marker = path.join(SHM_DIR, SEGMENT_PREFIX);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let maps: string;
    try {
      maps = readFileSync(`/proc/${entry}/maps`, 'utf8');
    } catch (error) {
      // gone since the listing, or not ours to read
      if ((error as NodeJS.ErrnoException).code === 'EACCES') unreadable++;
      continue;
    }
    const seen = new Set<string>();
    for (const line of maps.split('\n')) {
      const at = line.indexOf(marker);
      if (at < 0 || line.endsWith('(deleted)')) continue;
      seen.add(line.slice(at + marker.length).trim());
    }
    for (const name of seen) byName.set(name, [...(byName.get(name) ?? []), Number(entry)]);
  }
  return { byName, unreadable };
}

function readHeader(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const head = Buffer.alloc(HEADER_BYTES);
    const n = readSync(fd, head, 0, HEADER_BYTES, 0);
    return n === HEADER_BYTES ? head : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Every rig queue segment in /dev/shm with its creator, the processes attached to it now and
 * whether it is stale. Reads the header bytes directly (never locks or maps the segment), so a
 * corrupt or foreign segment is reported, not trusted.
 */
export function inspectSegments(): Inspection {
  if (queueUnavailableReason()) return { segments: [], unreadableProcesses: 0 }; // no /dev/shm, no /proc
  const { byName, unreadable } = attachments();
  const segments: SegmentInfo[] = [];
  let names: string[];
  try {
    names = readdirSync(SHM_DIR).filter((f) => f.startsWith(SEGMENT_PREFIX));
  } catch {
    names = [];
  }
  for (const file of names) {
    const name = file.slice(SEGMENT_PREFIX.length);
    const full = path.join(SHM_DIR, file);
    let bytes: number;
    try {
      bytes = statSync(full).size;
    } catch {
      continue; // removed since the listing
    }
    const attachedPids = byName.get(name) ?? [];
    const head = readHeader(full);
    const isRig = head !== undefined && head.readBigUInt64LE(0) === MAGIC;
    const layout = isRig ? head.readUInt32LE(OFFSETS.version) : undefined;
    const info: SegmentInfo = {
      name,
      path: full,
      bytes,
      attachedPids,
      creatorAlive: false,
      stale: false,
      reason: '',
      ...(layout !== undefined ? { layout } : {}),
    };
    if (isRig && layout === LAYOUT_WITH_CREATOR) {
      info.creatorPid = head.readUInt32LE(OFFSETS.creatorPid);
      info.creatorAlive = creatorRuns(info.creatorPid, head.readBigUInt64LE(OFFSETS.createdNs));
      info.messages = Number(
        head.readBigUInt64LE(OFFSETS.messagesIn) - head.readBigUInt64LE(OFFSETS.messagesOut),
      );
    }
    if (attachedPids.length > 0) {
      info.reason = `attached to ${attachedPids.length} running process(es): ${attachedPids.join(', ')}`;
    } else if (info.creatorAlive) {
      info.reason = `its creator (pid ${info.creatorPid}) still runs`;
    } else {
      info.stale = true;
      const unknown =
        unreadable > 0 ? `; ${unreadable} process(es) whose maps are not readable were not counted` : '';
      info.reason =
        (info.creatorPid !== undefined
          ? `creator pid ${info.creatorPid} is gone and no process has it mapped`
          : `no process has it mapped (layout ${layout ?? 'unknown'}: no creator recorded)`) + unknown;
    }
    segments.push(info);
  }
  return { segments, unreadableProcesses: unreadable };
}

export interface CleanupResult {
  /** Stale segments: removed, or (dry run) that would be removed. */
  stale: SegmentInfo[];
  removed: string[];
  dryRun: boolean;
}

/**
 * Lists the stale segments and, with `remove: true`, unlinks them (each checked again just before
 * its removal). A dry run by default.
 */
export function cleanupStaleSegments(
  options: { remove?: boolean; only?: (name: string) => boolean } = {},
): CleanupResult {
  const { segments } = inspectSegments();
  const stale = segments.filter((s) => s.stale && (options.only?.(s.name) ?? true));
  const removed: string[] = [];
  if (options.remove) {
    for (const s of stale) {
      const again = inspectSegments().segments.find((x) => x.name === s.name);
      if (!again?.stale) continue; // someone attached meanwhile
      try {
        unlinkSync(s.path);
        removed.push(s.name);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }
  return { stale, removed, dryRun: !options.remove };
}
