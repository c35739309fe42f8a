// Instructions per operation of the shared-memory queue, counted under callgrind (TypeScript API,
// Node-API crossing and C core in one process), each beside its native time.
// Workload: ./workloads/queue.ts; every segment it creates is destroyed in its teardown.
import { afterAll, describe, expect } from 'vitest';
import { skipAllWhen } from '../../harness/index.ts';
import { listSegments, Queue, queueUnavailableReason } from '../../systems/queue/index.ts';
import { countIt } from './figures.ts';
import { NAME_PREFIX, prefixOf } from './workloads/queue.ts';

// Off Linux every test here is skipped with the reason (systems/queue/README.md, "Platforms").
skipAllWhen(queueUnavailableReason());

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterAll(() => {
  // A counting process killed mid-run (timeout) cannot run its teardown: remove what it left.
  for (const segment of listSegments()) {
    const m = new RegExp(`^${NAME_PREFIX}(\\d+)-`).exec(segment);
    if (m && !alive(Number(m[1]))) Queue.unlink(segment);
  }
  expect(listSegments().filter((s) => s.startsWith(prefixOf(process.pid)))).toEqual([]);
});

describe('queue instruction counts', () => {
  countIt('queue', 'queue.raw.64B', 'raw.64B', 'raw putNowait() + getInto() pair of 64 B');
  countIt('queue', 'queue.raw.4KiB', 'raw.4KiB', 'raw putNowait() + getInto() pair of 4 KiB');
  countIt(
    'queue',
    'queue.value.small',
    'value.small',
    'value-mode putNowait() + getNowait() of a small object (node:v8 encode and decode)',
  );
});
