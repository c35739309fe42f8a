import { deserialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { Queue } from '../index.ts';
import { runChild, useQueues } from './helpers.ts';

const queues = useQueues('processes');

function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, unknown>;
}

describe('queue references and multiprocessing', () => {
  it('another process attaches by name and sees the same queue', async () => {
    const q = queues.create<unknown>({ capacityBytes: 8192 });
    q.putNowait('a');
    const r = await runChild(['open', q.name]);
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toEqual({ capacity: 8192, count: 1 });
    const missing = await runChild(['open', `${q.name}-nope`]);
    expect(lastJson(missing.stdout)).toEqual({ error: 'QUEUE_NOT_FOUND' });
  });

  it('values put by a child process arrive intact, and the reverse', async () => {
    const q = queues.create<unknown>({ capacityBytes: 8192 });
    const values = [1, 'two', { three: [3] }, null, true];
    const put = await runChild(['put-values', q.name, JSON.stringify(values)]);
    expect(put.code, put.stderr).toBe(0);
    expect(q.getManyNowait(10)).toEqual(values);
    q.putNowait(new Map([['k', 1]]));
    q.putNowait(12n);
    const got = await runChild(['get-all', q.name]);
    expect(got.code, got.stderr).toBe(0);
    const back = deserialize(Buffer.from(String(lastJson(got.stdout).v8), 'base64'));
    expect(back).toEqual([new Map([['k', 1]]), 12n]);
  });

  it('2 producer and 2 consumer processes: every message once, per-producer order kept', async () => {
    const q = queues.create({ capacityBytes: 4096 }); // small: producers block and wrap often
    const per = 2000;
    const consumers = [runChild(['consume', q.name]), runChild(['consume', q.name])];
    const producers = await Promise.all(
      [0, 1].map((p) => runChild(['produce', q.name, String(p), String(per)])),
    );
    for (const p of producers) expect(p.code, p.stderr).toBe(0);
    q.shutdown();
    const results = await Promise.all(consumers);
    const seen = new Map<number, number[]>([
      [0, []],
      [1, []],
    ]);
    for (const r of results) {
      expect(r.code, r.stderr).toBe(0);
      const got = lastJson(r.stdout).got as Array<[number, number]>;
      const last = new Map<number, number>();
      for (const [p, i] of got) {
        expect(i).toBeGreaterThan(last.get(p) ?? -1); // order per producer within a consumer
        last.set(p, i);
        seen.get(p)!.push(i);
      }
    }
    for (const [, ids] of seen) {
      ids.sort((a, b) => a - b);
      expect(ids).toEqual(Array.from({ length: per }, (_, i) => i));
    }
    expect(q.stats()).toMatchObject({ messagesIn: 2 * per, messagesOut: 2 * per, count: 0 });
  });

  it('a process killed while blocked in get leaves the queue usable', async () => {
    const q = queues.create<number>({ capacityBytes: 4096 });
    const child = runChild(['hold-lock-and-die', q.name], { timeoutMs: 1500 });
    const r = await child; // killed by the timeout while waiting
    expect(r.signal).toBe('SIGKILL');
    q.putNowait(1);
    expect(q.getNowait()).toBe(1);
    const again = queues.track(Queue.open<number>(q.name));
    again.putNowait(2);
    expect(await q.get({ timeout: 1000 })).toBe(2);
  });
});
