import { describe, expect, it } from 'vitest';
import { useQueues } from './helpers.ts';

const queues = useQueues('state');

describe('queue state', () => {
  it('empty, qsize and full follow puts and gets', () => {
    const q = queues.create<Buffer>({ capacityBytes: 64, mode: 'raw' });
    expect(q.empty()).toBe(true);
    expect(q.qsize()).toBe(0);
    expect(q.full()).toBe(false);
    q.putNowait(Buffer.alloc(8)); // 16 B record
    expect(q.empty()).toBe(false);
    expect(q.qsize()).toBe(1);
    q.putNowait(Buffer.alloc(8));
    q.putNowait(Buffer.alloc(8));
    q.putNowait(Buffer.alloc(8));
    expect(q.full()).toBe(true);
    expect(q.qsize()).toBe(4);
    q.getNowait();
    expect(q.full()).toBe(false);
    expect(q.qsize()).toBe(3);
  });

  it('stats count messages and bytes in and out, the high-water mark and utilisation', () => {
    const q = queues.create<Buffer>({ capacityBytes: 1024, mode: 'raw' });
    q.putNowait(Buffer.alloc(100));
    q.putNowait(Buffer.alloc(20));
    q.getNowait();
    const s = q.stats();
    expect(s).toMatchObject({
      capacity: 1024,
      maxMessage: 1016,
      count: 1,
      messagesIn: 2,
      messagesOut: 1,
      bytesIn: 120,
      bytesOut: 100,
      payloadBytes: 20,
      usedBytes: 8 + 24,
      highWaterBytes: 8 + 104 + 8 + 24,
      recoveries: 0,
      closed: false,
    });
    expect(s.utilisation).toBeCloseTo(32 / 1024);
    expect(s.efficiency).toBeCloseTo(20 / 1024);
  });

  it('every handle sees the same state (qsize is shared, not per process)', () => {
    const a = queues.create<number>({ capacityBytes: 4096 });
    const b = queues.track((a.constructor as typeof import('../index.ts').Queue).open<number>(a.name));
    a.putNowait(1);
    a.putNowait(2);
    expect(b.qsize()).toBe(2);
    expect(b.getNowait()).toBe(1);
    expect(a.qsize()).toBe(1);
  });
});
