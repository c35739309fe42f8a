import { describe, expect, it } from 'vitest';
import { useQueues } from './helpers.ts';

const queues = useQueues('fastpath');

/** The handle's waiter lanes (private): how many calls wait on the waiter threads. */
function waiting(q: object): { readers: number; writers: number } {
  const lanes = q as unknown as { readers: { size: number }; writers: { size: number } };
  return { readers: lanes.readers.size, writers: lanes.writers.size };
}

describe('awaited calls that can complete at once', () => {
  it('put with room and get with a message settle without a waiter', async () => {
    const q = queues.create<Buffer>({ capacityBytes: 4096, mode: 'raw' });
    const put = q.put(Buffer.from('abc'));
    expect(waiting(q)).toEqual({ readers: 0, writers: 0 });
    expect(q.qsize()).toBe(1); // copied in before put() returned
    await put;
    const got = q.get();
    expect(q.qsize()).toBe(0); // taken before get() returned
    expect(waiting(q)).toEqual({ readers: 0, writers: 0 });
    expect((await got).toString()).toBe('abc');
  });

  it('a raw get returns its own Buffer, not a view of the handle scratch', async () => {
    const q = queues.create<Buffer>({ capacityBytes: 4096, mode: 'raw' });
    await q.put(Buffer.from('first'));
    await q.put(Buffer.from('second'));
    const a = await q.get();
    const b = await q.get();
    expect([a.toString(), b.toString()]).toEqual(['first', 'second']);
  });

  it('raw gets hand out 8-byte aligned slices that never overlap, and big messages their own Buffer', async () => {
    const q = queues.create<Buffer>({ capacityBytes: 1 << 20, mode: 'raw' });
    const got: Buffer[] = [];
    // enough small messages to run through several arenas, then one above the arena limit
    for (let i = 0; i < 600; i++) {
      await q.put(Buffer.alloc(1 + (i % 97), i & 255));
      got.push(await q.get());
    }
    await q.put(Buffer.alloc(64 * 1024, 0xee));
    const big = await q.get();
    got.forEach((b, i) => {
      expect(b.length).toBe(1 + (i % 97));
      expect(b.byteOffset % 8).toBe(0);
      expect(b.every((x) => x === (i & 255))).toBe(true); // no later get wrote over it
    });
    expect(big.length).toBe(64 * 1024);
    expect(big.buffer.byteLength).toBe(64 * 1024);
    expect(big.every((x) => x === 0xee)).toBe(true);
  });

  it('a blocked put of a large message completes once there is room for all of it', async () => {
    const q = queues.create<Buffer>({ capacityBytes: 256, mode: 'raw', spin: 0 });
    for (let i = 0; i < 8; i++) q.putNowait(Buffer.alloc(24, i)); // full: 8 x 32 B
    const big = q.put(Buffer.alloc(88, 9)); // needs 96 B: three records' room
    let done = false;
    void big.then(() => {
      done = true;
    });
    for (let i = 0; i < 2; i++) expect(q.getNowait()[0]).toBe(i);
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false); // 64 B free is not enough
    expect(q.getNowait()[0]).toBe(2);
    await big;
    for (let i = 3; i < 8; i++) expect(q.getNowait()[0]).toBe(i);
    expect(q.getNowait().equals(Buffer.alloc(88, 9))).toBe(true);
  });

  it('bad options and bad values reject (never throw) on the fast path too', async () => {
    const q = queues.create<Buffer>({ capacityBytes: 4096, mode: 'raw' });
    let put: Promise<void> | undefined;
    expect(() => {
      put = q.put(Buffer.from('x'), { timeout: -1 });
    }).not.toThrow();
    await expect(put).rejects.toMatchObject({ code: 'QUEUE_INVALID_ARGUMENT' });
    await expect(q.put('text' as unknown as Buffer)).rejects.toMatchObject({
      code: 'QUEUE_INVALID_ARGUMENT',
    });
    await q.put(Buffer.from('y'));
    await expect(q.get({ bogus: 1 } as never)).rejects.toMatchObject({ code: 'QUEUE_INVALID_ARGUMENT' });
    expect(q.qsize()).toBe(1); // the bad get took nothing
  });

  it('put and get wait through the lanes only when full or empty', async () => {
    const q = queues.create<number>({ capacityBytes: 64, spin: 0 });
    const get = q.get();
    expect(waiting(q).readers).toBe(1);
    await q.put(7);
    expect(await get).toBe(7);
    expect(waiting(q).readers).toBe(0);
  });
});
