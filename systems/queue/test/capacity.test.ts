import { describe, expect, it } from 'vitest';
import { QueueFull } from '../index.ts';
import { useQueues } from './helpers.ts';

const queues = useQueues('capacity');

describe('capacity management', () => {
  it('fills exactly to capacity and refuses one byte more', () => {
    const q = queues.create<Buffer>({ capacityBytes: 256, mode: 'raw' });
    for (let i = 0; i < 8; i++) q.putNowait(Buffer.alloc(24, i)); // 8 x 32 B records = 256 B
    expect(q.stats().usedBytes).toBe(256);
    expect(q.full()).toBe(true);
    expect(() => q.putNowait(Buffer.alloc(0))).toThrow(QueueFull);
    for (let i = 0; i < 8; i++) expect(q.getNowait()[0]).toBe(i);
    expect(q.empty()).toBe(true);
  });

  it('a message as large as allowed fits an empty queue, wherever the ring stood', () => {
    const q = queues.create<Buffer>({ capacityBytes: 1024, mode: 'raw' });
    q.putNowait(Buffer.alloc(100));
    q.getNowait(); // ring offsets now mid-way
    const big = Buffer.alloc(q.maxMessageBytes, 7);
    q.putNowait(big);
    expect(q.full()).toBe(true);
    expect(q.getNowait().equals(big)).toBe(true);
  });

  it('wraps around with padding many times and keeps order and bytes', () => {
    const q = queues.create<Buffer>({ capacityBytes: 1000, mode: 'raw' });
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 2000; round++) {
      const size = (round * 37) % 300;
      try {
        const b = Buffer.alloc(size + 4);
        b.writeUInt32LE(next);
        q.putNowait(b);
        next++;
      } catch (error) {
        expect(error).toBeInstanceOf(QueueFull);
        const got = q.getNowait();
        expect(got.readUInt32LE(0)).toBe(expected++);
      }
    }
    while (!q.empty()) expect(q.getNowait().readUInt32LE(0)).toBe(expected++);
    expect(expected).toBe(next);
    expect(q.stats().usedBytes).toBe(0);
  });

  it('edge cases: 0-byte messages, many tiny messages, the max-size message through the value path', async () => {
    const q = queues.create<Buffer>({ capacityBytes: 1 << 16, mode: 'raw' });
    for (let i = 0; i < 8192; i++) q.putNowait(Buffer.alloc(0)); // 8 B each: exactly full
    expect(q.full()).toBe(true);
    expect(q.qsize()).toBe(8192);
    expect(q.getManyNowait(10_000).every((b) => b.length === 0)).toBe(true);
    const v = queues.create<string | number>({ capacityBytes: 1 << 16 });
    const s = 'y'.repeat(v.maxMessageBytes - 16); // v8 header + string header within the limit
    await v.put(s);
    expect(await v.get()).toBe(s);
    const tiny = Array.from({ length: 5000 }, (_, i) => i);
    const putting = v.putMany(tiny); // more than the ring holds: it waits for the gets below
    const back: Array<string | number> = [];
    while (back.length < tiny.length) back.push(...(await v.getMany(777)));
    await putting;
    expect(back).toEqual(tiny);
  });

  it('messages larger than the initial 64 KiB scratch buffer come through every get path', async () => {
    const q = queues.create<string>({ capacityBytes: 1 << 20 });
    const big = 'z'.repeat(300_000);
    q.putNowait(big);
    expect(q.getSync({ timeout: 1000 })).toBe(big);
    await q.put(`${big}!`);
    expect(await q.get()).toBe(`${big}!`);
    q.putManyNowait([big, big]);
    expect(q.getManyNowait(5)).toEqual([big, big]);
  });

  it('putMany waits for room when the batch is larger than the ring', async () => {
    const q = queues.create<number>({ capacityBytes: 256 });
    const values = Array.from({ length: 200 }, (_, i) => i);
    const putting = q.putMany(values);
    const got: number[] = [];
    while (got.length < values.length) got.push(...(await q.getMany(50)));
    await putting;
    expect(got).toEqual(values);
  });
});
