// The queue per OS: Linux only (futexes, robust process-shared mutexes in POSIX shared memory).
// Elsewhere the first touch fails with QUEUE_UNSUPPORTED_PLATFORM naming what that OS lacks, the
// addon build is skipped with the reason (so `npm ci` succeeds), and the queue's tests skip with it.
// macOS and Windows are injected here; the nightly matrix runs the same file on both for real.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../harness/index.ts';
import {
  assertQueuePlatform,
  inspectSegments,
  isQueueError,
  listSegments,
  Queue,
  QueueError,
  queueUnavailableReason,
  spawnPeer,
} from '../../systems/queue/index.ts';

const linux = process.platform === 'linux';
const INSTALL = pathToFileURL(path.join(REPO_ROOT, 'systems', 'queue', 'install.mjs')).href;

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('the queue platform guard', () => {
  it('lets Linux through', () => {
    expect(queueUnavailableReason('linux')).toBeUndefined();
    expect(() => assertQueuePlatform('linux')).not.toThrow();
  });

  it('macOS: QUEUE_UNSUPPORTED_PLATFORM naming the missing robust mutexes and futex, and the port', () => {
    const error = thrown(() => assertQueuePlatform('darwin'));
    expect(error).toBeInstanceOf(QueueError);
    expect(error).toMatchObject({ code: 'QUEUE_UNSUPPORTED_PLATFORM', name: 'QueueError' });
    const message = (error as Error).message;
    expect(message).toMatch(/^the shared-memory queue runs on Linux only/);
    expect(message).toContain('this is macOS (darwin)');
    expect(message).toContain('no robust process-shared mutexes');
    expect(message).toContain('no futex');
    expect(message).toContain('os_sync_wait_on_address');
    expect(message).toContain('__ulock_wait');
    expect(message).toContain("lock owner's process still lives");
    expect(message).toContain('(run the queue on Linux'); // the code's hint, as every QueueError
    expect(message).not.toContain('\n');
  });

  it('Windows: names CreateFileMapping and a named mutex whose WAIT_ABANDONED is the robust role', () => {
    const error = thrown(() => assertQueuePlatform('win32'));
    expect(isQueueError(error) && error.code).toBe('QUEUE_UNSUPPORTED_PLATFORM');
    const message = (error as Error).message;
    expect(message).toContain('this is Windows (win32)');
    expect(message).toContain('named shared memory (CreateFileMapping)');
    expect(message).toContain('named mutex, whose WAIT_ABANDONED plays the robust role');
    expect(message).toContain('WSL 2');
  });

  it('any other OS is refused too, by name', () => {
    expect(queueUnavailableReason('freebsd')).toContain('this is freebsd, for which no port exists');
    expect(thrown(() => assertQueuePlatform('aix'))).toMatchObject({ code: 'QUEUE_UNSUPPORTED_PLATFORM' });
  });
});

describe('the queue on this OS', () => {
  it('Linux: creates, opens and unlinks a queue', (ctx) => {
    if (!linux) return ctx.skip(`Linux only: ${queueUnavailableReason()}`);
    const name = `xplat-${process.pid}`;
    const q = Queue.create<string>(name, { capacityBytes: 1024 });
    try {
      q.putNowait('hello');
      const r = Queue.open<string>(name);
      expect(r.getNowait()).toBe('hello');
      r.close();
      expect(listSegments()).toContain(name);
    } finally {
      q.destroy();
    }
    expect(listSegments()).not.toContain(name);
  });

  it('macOS/Windows: create, open, unlink and a peer throw QUEUE_UNSUPPORTED_PLATFORM; no segment is listed', (ctx) => {
    if (linux) return ctx.skip('the queue runs here (Linux): the Linux test above covers it');
    for (const touch of [
      () => Queue.create('x'),
      () => Queue.open('x'),
      () => Queue.unlink('x'),
      () => spawnPeer('drain', { name: 'x' }),
    ]) {
      expect(thrown(touch)).toMatchObject({ code: 'QUEUE_UNSUPPORTED_PLATFORM' });
    }
    expect(listSegments()).toEqual([]);
    expect(inspectSegments()).toEqual({ segments: [], unreadableProcesses: 0 });
  });
});

describe('the addon build (systems/queue/install.mjs, run by npm ci)', () => {
  for (const platform of ['darwin', 'win32'] as const) {
    it(`is skipped on ${platform} with the reason printed, and succeeds`, () => {
      // the script sees another process.platform; it exits before anything is built
      const script = `Object.defineProperty(process, 'platform', { value: '${platform}' }); await import(${JSON.stringify(INSTALL)});`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('systems/queue: skipping the native addon build');
      expect(r.stdout).toContain(`this is ${platform}`);
      expect(r.stdout).toContain('QUEUE_UNSUPPORTED_PLATFORM');
      expect(r.stdout).not.toContain('node-gyp');
    });
  }
});
