import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Queue } from '../index.ts';
import { runChild, startChild, useQueues } from './helpers.ts';

const queues = useQueues('crash');

describe('crash safety (robust mutexes + journals)', () => {
  it("a process SIGKILLed while holding both locks: each side's next caller recovers its lock, nothing is lost", async () => {
    const q = queues.create<number>({ capacityBytes: 4096 });
    q.putNowait(1);
    const child = await startChild(['hold-lock', q.name], '"locked":true');
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    expect(q.getNowait()).toBe(1); // consumers' lock: EOWNERDEAD -> repaired -> consistent
    q.putNowait(2); // producers' lock, the same
    expect(q.getNowait()).toBe(2);
    expect(q.stats().recoveries).toBe(2);
  });

  it('a blocked get in another handle survives the owner dying and still gets the next message', async () => {
    const q = queues.create<number>({ capacityBytes: 4096 });
    const waiting = queues.track(Queue.open<number>(q.name, { spin: 0 })).get({ timeout: 10_000 });
    const child = await startChild(['hold-lock', q.name], '"locked":true');
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    q.putNowait(7);
    await expect(waiting).resolves.toBe(7);
  });

  it('a producer killed half-way through a state change: the journal rolls it forward', async () => {
    const q = queues.create<string>({ capacityBytes: 4096 });
    q.putNowait('before');
    const r = await runChild(['die-mid-put', q.name, 'mid']);
    expect(r.signal).toBe('SIGKILL');
    const s = q.stats(); // locks: repairs
    expect(s.recoveries).toBe(1);
    expect(s.count).toBe(2);
    expect(q.getManyNowait(10)).toEqual(['before', 'mid']);
    expect(q.stats()).toMatchObject({ count: 0, usedBytes: 0 });
  });
});
