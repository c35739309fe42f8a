import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { startWorker, useQueues } from './helpers.ts';

const queues = useQueues('threads');

async function result<T>(w: Worker): Promise<T> {
  const [message] = (await once(w, 'message')) as [T];
  await once(w, 'exit');
  return message;
}

describe('threading (worker_threads)', () => {
  it('2 producer and 2 consumer workers pass every message once, in order per producer', async () => {
    const q = queues.create({ capacityBytes: 2048 });
    const per = 1500;
    const consumers = [0, 1].map((id) => startWorker({ name: q.name, role: 'consume', id, count: 0 }));
    const producers = [0, 1].map((id) => startWorker({ name: q.name, role: 'produce', id, count: per }));
    const consumerResults = consumers.map((w) => result<{ got: Array<[number, number]> }>(w));
    await Promise.all(producers.map((w) => result(w)));
    q.shutdown();
    const seen: number[][] = [[], []];
    for (const r of await Promise.all(consumerResults)) {
      const last = [-1, -1];
      for (const [w, i] of r.got) {
        expect(i).toBeGreaterThan(last[w]!);
        last[w] = i;
        seen[w]!.push(i);
      }
    }
    for (const ids of seen)
      expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: per }, (_, i) => i));
  });

  it('a worker terminated while blocked in get does not disturb the queue', async () => {
    const q = queues.create<{ w: number; i: number }>({ capacityBytes: 2048 });
    const w = startWorker({ name: q.name, role: 'consume', id: 0, count: 0 });
    await new Promise((r) => setTimeout(r, 300));
    await w.terminate();
    q.putNowait({ w: 9, i: 9 });
    expect(q.getNowait()).toEqual({ w: 9, i: 9 });
  });
});
