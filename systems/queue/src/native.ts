import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { errorFromStatus, QueueError } from '../errors.ts';
import { assertQueuePlatform, queueUnavailableReason } from './platform.ts';

/** The addon's handle class (native/src/addon.cc). Negative returns are -status. */
export interface NativeQueue {
  put(data: Uint8Array): number;
  putBatch(data: Uint8Array, lens: Uint32Array, n: number): number;
  get(target: Uint8Array): number;
  /** get into target from offset on; the length, or -status (-BUF_SMALL: needed() says how much). */
  getAt(target: Uint8Array, offset: number): number;
  /** The buffer take() copies into; the handle holds it until the next setArena. */
  setArena(arena: Uint8Array): void;
  /** getAt(arena, offset) without passing the buffer across. */
  take(offset: number): number;
  getBatch(target: Uint8Array, lens: Uint32Array, max: number): number;
  getSync(target: Uint8Array, timeoutMs: number, spin: number): number;
  putSync(data: Uint8Array, timeoutMs: number, spin: number): number;
  needed(): number;
  /**
   * Calls cb(status) on the event loop once the queue holds a message (kind 0), has room for a
   * record of `need` ring bytes (kind 1) or has no unfinished task (kind 2), or is closed, or
   * timeoutMs passed (-1: never).
   */
  waitAsync(kind: number, need: number, timeoutMs: number, spin: number, cb: (status: number) => void): void;
  taskDone(): number;
  unfinished(): number;
  shutdown(): number;
  close(): void;
  stats(): NativeStats;
  count(): number;
  capacity(): number;
  maxMessage(): number;
  isClosed(): boolean;
  debugFault(mode: number, data: Uint8Array): number;
}

export interface NativeStats {
  capacity: number;
  maxMessage: number;
  count: number;
  usedBytes: number;
  payloadBytes: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  highWaterBytes: number;
  recoveries: number;
  /** task_done() calls so far, in every process. */
  tasksDone: number;
  /** Messages put and not yet marked done (join() waits for 0). */
  unfinishedTasks: number;
  /** The process that created the segment. */
  creatorPid: number;
  closed: boolean;
}

interface NativeModule {
  NativeQueue: {
    new (mode: 0, name: string, capacity: number, maxMessage: number): NativeQueue;
    new (mode: 1, name: string): NativeQueue;
    unlink(name: string): number;
  };
  layoutVersion: number;
}

export const ADDON_PATH = path.resolve(
  import.meta.dirname,
  '..',
  'native',
  'build',
  'Release',
  'rig_queue.node',
);
export const SHM_DIR = '/dev/shm';
export const SEGMENT_PREFIX = 'rig-q-';

let loaded: NativeModule | undefined;

/**
 * The addon, loaded once; QUEUE_UNSUPPORTED_PLATFORM off Linux (before any native load),
 * QUEUE_NATIVE_UNAVAILABLE when it was not built.
 */
export function native(): NativeModule {
  if (!loaded) {
    assertQueuePlatform();
    try {
      loaded = createRequire(import.meta.url)(ADDON_PATH) as NativeModule;
    } catch (error) {
      throw new QueueError('QUEUE_NATIVE_UNAVAILABLE', `cannot load ${ADDON_PATH}`, { cause: error });
    }
  }
  return loaded;
}

/** Calls into the addon, turning a thrown native error into the typed queue error. */
export function callNative<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    const status = (error as { rqStatus?: unknown }).rqStatus;
    if (typeof status === 'number') throw errorFromStatus(status, what, (error as Error).message);
    throw error;
  }
}

/** Path of a queue's segment: /dev/shm/rig-q-<name>. */
export function segmentPath(name: string): string {
  return path.join(SHM_DIR, SEGMENT_PREFIX + name);
}

/** Names of the rig queue segments present in /dev/shm (for leak checks); none off Linux. */
export function listSegments(): string[] {
  if (queueUnavailableReason()) return [];
  return readdirSync(SHM_DIR)
    .filter((f) => f.startsWith(SEGMENT_PREFIX))
    .map((f) => f.slice(SEGMENT_PREFIX.length));
}
