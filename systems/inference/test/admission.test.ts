import { describe, expect, it } from 'vitest';
import { Admission } from '../admission.ts';
import { InferenceError } from '../errors.ts';

describe('Admission', () => {
  it('admits up to slots at once and queues the rest in order', async () => {
    const a = new Admission(2, 10, 5_000);
    const r1 = await a.acquire();
    const r2 = await a.acquire();
    const order: number[] = [];
    const p3 = a.acquire().then((r) => {
      order.push(3);
      return r;
    });
    const p4 = a.acquire().then((r) => {
      order.push(4);
      return r;
    });
    expect(a.stats()).toMatchObject({ busy: 2, queued: 2 });
    r1();
    r1(); // releasing twice is a no-op
    const r3 = await p3;
    expect(a.stats()).toMatchObject({ busy: 2, queued: 1 });
    r2();
    const r4 = await p4;
    r3();
    r4();
    expect(order).toEqual([3, 4]);
    expect(a.stats()).toMatchObject({ busy: 0, queued: 0, admitted: 4 });
  });

  it('answers QUEUE_FULL with Retry-After beyond queueLimit, never waits', async () => {
    const a = new Admission(1, 1, 5_000);
    const r1 = await a.acquire();
    const queued = a.acquire();
    const err = await a.acquire().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InferenceError);
    expect((err as InferenceError).code).toBe('INFERENCE_QUEUE_FULL');
    expect((err as InferenceError).status).toBe(429);
    expect((err as InferenceError).retryAfterS).toBeGreaterThan(0);
    r1();
    (await queued)();
    expect(a.stats()).toMatchObject({ busy: 0, rejected: 1 });
  });

  it('times a queued request out with QUEUE_TIMEOUT (503)', async () => {
    const a = new Admission(1, 5, 30);
    const r1 = await a.acquire();
    const err = (await a.acquire().catch((e: unknown) => e)) as InferenceError;
    expect(err.code).toBe('INFERENCE_QUEUE_TIMEOUT');
    expect(err.status).toBe(503);
    expect(a.stats()).toMatchObject({ queued: 0, timedOut: 1 });
    r1();
    expect(a.stats().busy).toBe(0);
  });

  it('drops a queued request whose client went away', async () => {
    const a = new Admission(1, 5, 5_000);
    const r1 = await a.acquire();
    const ac = new AbortController();
    const p = a.acquire(ac.signal);
    ac.abort();
    await expect(p).rejects.toThrow(/went away/);
    expect(a.stats().queued).toBe(0);
    r1();
    expect(a.stats().busy).toBe(0);
  });
});
