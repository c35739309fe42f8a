import { pbkdf2 } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Queue } from '../index.ts';
import { useQueues } from './helpers.ts';

const queues = useQueues('blocking');

describe('blocking calls and the event loop', () => {
  it('a blocked get leaves the event loop running', async () => {
    const q = queues.create<string>({ capacityBytes: 1024, spin: 0 });
    const pending = q.get();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await new Promise((r) => setTimeout(r, 200));
    clearInterval(timer);
    expect(ticks).toBeGreaterThanOrEqual(2); // the loop kept turning while get() waited
    q.putNowait('done');
    expect(await pending).toBe('done');
  });

  it('eight blocked gets do not occupy libuv threadpool (fs and crypto still complete)', async () => {
    const qs = Array.from({ length: 8 }, () => queues.create<number>({ capacityBytes: 1024, spin: 0 }));
    const pending = qs.map((q) => q.get());
    const work = Promise.all([
      promisify(pbkdf2)('pw', 'salt', 1000, 32, 'sha256'),
      readFile(import.meta.filename),
      promisify(pbkdf2)('pw', 'salt2', 1000, 32, 'sha256'),
      readFile(import.meta.filename),
      promisify(pbkdf2)('pw', 'salt3', 1000, 32, 'sha256'),
    ]);
    const outcome = await Promise.race([
      work.then(() => 'threadpool free'),
      new Promise((r) => setTimeout(() => r('threadpool starved'), 10_000)),
    ]);
    expect(outcome).toBe('threadpool free');
    for (const [i, q] of qs.entries()) q.putNowait(i);
    expect(await Promise.all(pending)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('many concurrent gets on one handle are served in FIFO order', async () => {
    const q = queues.create<number>({ capacityBytes: 4096 });
    const gets = Array.from({ length: 20 }, () => q.get({ timeout: 5000 }));
    const producer = queues.track(Queue.open<number>(q.name));
    for (let i = 0; i < 20; i++) await producer.put(i);
    expect(await Promise.all(gets)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('getSync with spinning and sleeping waiters returns what another handle put', () => {
    const q = queues.create<number>({ capacityBytes: 4096 });
    q.putNowait(1);
    expect(q.getSync({ spin: 10_000 })).toBe(1);
    q.putNowait(2);
    expect(q.getSync({ spin: 0, timeout: 100 })).toBe(2);
  });
});
