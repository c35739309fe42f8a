import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { listSegments, Queue } from '../index.ts';
import { useQueues } from './helpers.ts';

const queues = useQueues('leak');

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MiB = 2 ** 20;

describe('memory leaks', () => {
  it('RSS stays flat over two million raw put/get operations', () => {
    const q = queues.create<Buffer>({ capacityBytes: 1 << 16, mode: 'raw' });
    const msg = Buffer.alloc(64, 1);
    const target = Buffer.alloc(1024);
    const lens = new Uint32Array(64);
    let ops = 0;
    const round = (n: number) => {
      for (let i = 0; i < n; i++) {
        q.putNowait(msg);
        q.getInto(target);
      }
      for (let i = 0; i < n / 64; i++) {
        ops += q.putManyFrom(target, lens.fill(16));
        q.getManyInto(target, lens);
      }
      ops += n;
    };
    round(100_000); // warm-up: JIT, pools
    gc();
    const before = process.memoryUsage().rss;
    for (let r = 0; r < 10; r++) round(100_000); // 1M put/get pairs + 1M batched records
    gc();
    const growth = (process.memoryUsage().rss - before) / MiB;
    expect(growth).toBeLessThan(16); // a leak of 16 B per operation would show 30 MiB
    expect(q.stats()).toMatchObject({ count: 0, usedBytes: 0, messagesIn: ops, messagesOut: ops });
  });

  it('JS heap and external memory stay flat over 100k value round trips', () => {
    const q = queues.create<{ i: number; s: string; m: Map<number, number> }>({ capacityBytes: 1 << 16 });
    const round = (n: number) => {
      for (let i = 0; i < n; i++) {
        q.putNowait({ i, s: 'value', m: new Map([[i, i]]) });
        q.getNowait();
      }
    };
    round(10_000);
    gc();
    const before = process.memoryUsage();
    for (let r = 0; r < 10; r++) round(10_000);
    gc();
    const after = process.memoryUsage();
    expect((after.heapUsed - before.heapUsed) / MiB).toBeLessThan(8);
    expect((after.external - before.external) / MiB).toBeLessThan(8);
  });

  it('/dev/shm holds no extra segment after 200 create/destroy cycles and 500 open/close', () => {
    const before = listSegments().length;
    for (let i = 0; i < 200; i++) {
      const name = queues.name();
      const q = Queue.create(name, { capacityBytes: 4096 });
      q.putNowait(i);
      q.destroy();
    }
    const q = queues.create({ capacityBytes: 4096 });
    for (let i = 0; i < 500; i++) Queue.open(q.name).close();
    expect(listSegments().length).toBe(before + 1);
  });
});
