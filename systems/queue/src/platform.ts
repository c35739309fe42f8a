// Where the queue runs: Linux only. Everywhere else the first touch (create, open, unlink, a peer,
// loading the addon) fails with QUEUE_UNSUPPORTED_PLATFORM, whose message says what that OS lacks
// and what a port would use instead (README.md, "Platforms").
import { QueueError } from '../errors.ts';

/** What a port of the queue to another OS would need, by `process.platform`. */
const PORT_NEEDS: Partial<Record<NodeJS.Platform, string>> = {
  darwin:
    'this is macOS (darwin), which has no robust process-shared mutexes (nothing tells a waiter that ' +
    'the lock holder died) and no futex; a port would wait with os_sync_wait_on_address (macOS 14.4+) ' +
    "or __ulock_wait and check on its own whether a lock owner's process still lives",
  win32:
    'this is Windows (win32), which has no POSIX shared memory, no robust process-shared mutexes and ' +
    'no futex; a port would use named shared memory (CreateFileMapping) and a named mutex, whose ' +
    'WAIT_ABANDONED plays the robust role (the holder died), with named events to wake waiters in ' +
    'other processes',
};

/** One line for a platform the queue refuses; `undefined` on Linux. */
export function queueUnavailableReason(platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform === 'linux') return undefined;
  const needs =
    PORT_NEEDS[platform] ??
    `this is ${platform}, for which no port exists (it would need process-shared locks that survive a dead holder and a cross-process wait)`;
  return `the shared-memory queue runs on Linux only (futexes and robust process-shared mutexes in POSIX shared memory); ${needs}`;
}

/** Throws QUEUE_UNSUPPORTED_PLATFORM unless the queue runs on `platform`. */
export function assertQueuePlatform(platform: NodeJS.Platform = process.platform): void {
  const reason = queueUnavailableReason(platform);
  if (reason) throw new QueueError('QUEUE_UNSUPPORTED_PLATFORM', reason);
}

/** `rig doctor`'s queue line on a platform the queue refuses; `undefined` on Linux. */
export function queuePlatformCheck(
  platform: NodeJS.Platform = process.platform,
): { name: string; ok: false; detail: string; hint: string } | undefined {
  const reason = queueUnavailableReason(platform);
  if (!reason) return undefined;
  return {
    name: 'platform',
    ok: false,
    detail: `unsupported: ${reason}`,
    hint: 'run the queue on Linux (a Linux container or WSL 2); here its suites and unit tests are skipped with this reason',
  };
}
