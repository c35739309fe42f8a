import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listSegments, Queue, QueueClosed, segmentPath } from '../index.ts';
import { useQueues } from './helpers.ts';

const queues = useQueues('lifecycle');

describe('lifecycle', () => {
  it('create, use, close, reopen, destroy', async () => {
    const name = queues.name();
    const q = Queue.create<string>(name, { capacityBytes: 4096 });
    expect(existsSync(segmentPath(name))).toBe(true);
    expect(listSegments()).toContain(name);
    await q.put('kept');
    q.close();
    expect(q.closed).toBe(true);
    q.close(); // idempotent
    expect(() => q.putNowait('x')).toThrow(QueueClosed);
    const again = Queue.open<string>(name);
    expect(again.capacityBytes).toBe(4096);
    expect(await again.get()).toBe('kept');
    again.destroy();
    again.destroy(); // idempotent
    expect(existsSync(segmentPath(name))).toBe(false);
  });

  it('persistence: messages outlive every handle until the segment is destroyed', () => {
    const name = queues.name();
    const q = Queue.create<number>(name, { capacityBytes: 4096 });
    for (let i = 0; i < 10; i++) q.putNowait(i);
    q.close();
    const r = Queue.open<number>(name);
    expect(r.qsize()).toBe(10);
    expect(r.getManyNowait(100)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    r.destroy();
  });

  it('create refuses an existing name; open refuses a missing one', () => {
    const q = queues.create();
    expect(() => Queue.create(q.name)).toThrow(expect.objectContaining({ code: 'QUEUE_EXISTS' }));
    expect(() => Queue.open(`${q.name}-missing`)).toThrow(
      expect.objectContaining({ code: 'QUEUE_NOT_FOUND' }),
    );
    expect(Queue.unlink(`${q.name}-missing`)).toBe(false);
  });

  it('unlink removes the name while attached handles keep working', () => {
    const q = queues.create<number>({ capacityBytes: 4096 });
    expect(Queue.unlink(q.name)).toBe(true);
    q.putNowait(5);
    expect(q.getNowait()).toBe(5);
    expect(() => Queue.open(q.name)).toThrow(expect.objectContaining({ code: 'QUEUE_NOT_FOUND' }));
  });

  it('shutdown: puts fail, gets drain then fail with QueueClosed, for every handle', async () => {
    const q = queues.create<number>({ capacityBytes: 4096 });
    const other = queues.track(Queue.open<number>(q.name));
    q.putNowait(1);
    q.shutdown();
    expect(other.isShutdown).toBe(true);
    await expect(other.put(2)).rejects.toBeInstanceOf(QueueClosed);
    expect(await other.get()).toBe(1);
    await expect(other.get()).rejects.toBeInstanceOf(QueueClosed);
  });

  it('shutdown wakes a blocked get in another handle', async () => {
    const q = queues.create<number>({ capacityBytes: 4096 });
    const other = queues.track(Queue.open<number>(q.name, { spin: 0 }));
    const pending = other.get();
    setTimeout(() => q.shutdown(), 30);
    await expect(pending).rejects.toMatchObject({ code: 'QUEUE_CLOSED' });
  });

  it("close() rejects this handle's blocked calls with QueueClosed", async () => {
    const q = queues.create<number>({ capacityBytes: 64 });
    const get = q.get();
    const full = queues.track(Queue.open<number>(q.name));
    full.putNowait(0);
    await expect(get).resolves.toBe(0);
    while (!full.full()) full.putNowait(0);
    const put = full.put(1);
    full.close();
    await expect(put).rejects.toBeInstanceOf(QueueClosed);
  });
});
