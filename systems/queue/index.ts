// Public surface of the shared-memory queue (systems/queue): see README.md.
import type { SystemHandle } from '../../harness/index.ts';
import type definition from './system.ts';

/** The typed handle suites start the queue with: `useSystem(queueSystem)`, then `.api.create()`. */
export const queueSystem: SystemHandle<typeof definition> = { name: 'queue' };

export * as bench from './bench/index.ts';
export {
  isQueueError,
  MessageTooLarge,
  QUEUE_ERROR_CODES,
  QueueClosed,
  QueueCorrupt,
  QueueEmpty,
  QueueError,
  type QueueErrorCode,
  QueueFull,
} from './errors.ts';
export { ADDON_PATH, listSegments, SEGMENT_PREFIX, SHM_DIR, segmentPath } from './src/native.ts';
export type { CreateOptions, HandleOptions, SyncWaitOptions, WaitOptions } from './src/options.ts';
export {
  PEER_SCRIPT,
  type Peer,
  type PeerExit,
  type PeerOptions,
  type PeerRole,
  spawnPeer,
} from './src/peers.ts';
export { assertQueuePlatform, queuePlatformCheck, queueUnavailableReason } from './src/platform.ts';
export { Queue, type QueueStats } from './src/queue.ts';
export {
  type CleanupResult,
  cleanupStaleSegments,
  type Inspection,
  inspectSegments,
  type SegmentInfo,
} from './src/stale.ts';
export type { QueueSystemApi } from './system.ts';
