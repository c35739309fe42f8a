import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AsyncStateStore,
  type FsmSnapshot,
  GapMarker,
  isGap,
  isStateStoreError,
  nextSnapshot,
  type OverflowPolicy,
  type StoreEvent,
  type Subscription,
} from '../index.ts';

const stores: AsyncStateStore[] = [];
function makeStore(): AsyncStateStore {
  const store = new AsyncStateStore();
  stores.push(store);
  return store;
}
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

/** Writes `n` snapshots, alternating IDLE/ACTIVE, without awaiting each. */
function writeMany(store: AsyncStateStore, n: number): Promise<void> {
  let s = store.get();
  const acks: Array<Promise<void>> = [];
  for (let i = 0; i < n; i++) {
    s = nextSnapshot(s, s.state === 'IDLE' ? 'ACTIVE' : 'IDLE', `w${i}`);
    acks.push(store.set(s));
  }
  return Promise.all(acks).then(() => undefined);
}

/**
 * (node:assert inside loops: allure-vitest turns every expect() into a report step.)
 * The subscriber contract on a received stream: versions strictly increase; every gap counts
 * exactly the versions between its neighbours; received + missed covers every version.
 */
function checkStream(events: StoreEvent[], firstVersion: number, lastVersion: number): void {
  let expected = firstVersion;
  for (const e of events) {
    if (isGap(e)) {
      assert.ok(e.missed > 0);
      assert.equal(e.afterVersion, expected - 1);
      if (e.nextVersion !== undefined) assert.equal(e.missed, e.nextVersion - e.afterVersion - 1);
      expected += e.missed;
    } else {
      assert.equal(e.version, expected);
      expected++;
    }
  }
  assert.equal(expected - 1, lastVersion);
}

function drain(sub: Subscription): StoreEvent[] {
  const out: StoreEvent[] = [];
  for (let e = sub.poll(); e !== undefined; e = sub.poll()) out.push(e);
  return out;
}

describe('subscriptions', () => {
  it('deliver every version in order to a consumer that keeps up', async () => {
    const store = makeStore();
    const sub = store.subscribe({ queueSize: 16 });
    const seen: number[] = [];
    const consumer = (async () => {
      for await (const e of sub) {
        if (isGap(e)) throw new Error('unexpected gap');
        seen.push(e.version);
        if (e.version === 500) break;
      }
    })();
    let s = store.get();
    for (let i = 0; i < 500; i++) {
      s = nextSnapshot(s, s.state === 'IDLE' ? 'ACTIVE' : 'IDLE', 'x');
      await store.set(s);
    }
    await consumer;
    expect(seen).toEqual(Array.from({ length: 501 }, (_, i) => i));
    expect(store.getMetrics().subscribers).toBe(0);
  });

  it('keep the contract under any interleaving of writes and reads (property)', () => {
    const policy = fc.constantFrom<OverflowPolicy>('drop-oldest', 'drop-newest');
    const op = fc.oneof(
      fc.record({ write: fc.integer({ min: 1, max: 20 }) }),
      fc.record({ read: fc.integer({ min: 1, max: 20 }) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        policy,
        fc.boolean(),
        fc.array(op, { maxLength: 40 }),
        (queueSize, overflow, includeCurrent, ops) => {
          const store = new AsyncStateStore();
          const first = includeCurrent ? 0 : 1;
          const sub = store.subscribe({ queueSize, overflow, includeCurrent });
          const events: StoreEvent[] = [];
          let s: FsmSnapshot = store.get();
          for (const o of ops) {
            if ('write' in o) {
              for (let i = 0; i < o.write; i++) {
                s = nextSnapshot(s, s.state === 'IDLE' ? 'ACTIVE' : 'IDLE', 'p');
                void store.set(s);
                assert.ok(sub.queued <= queueSize);
              }
            } else {
              for (let i = 0; i < o.read; i++) {
                const e = sub.poll();
                if (e) events.push(e);
              }
            }
          }
          events.push(...drain(sub));
          checkStream(events, first, store.version);
          const m = sub.metrics;
          assert.equal(m.delivered + m.dropped, store.version - first + 1);
          void store.close();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('drop-oldest keeps the newest snapshots and marks the gap before them', async () => {
    const store = makeStore();
    const sub = store.subscribe({ queueSize: 3, overflow: 'drop-oldest', includeCurrent: false });
    await writeMany(store, 10);
    const events = drain(sub);
    expect(events[0]).toEqual(new GapMarker(7, 0, 8));
    expect(events.slice(1).map((e) => (e as FsmSnapshot).version)).toEqual([8, 9, 10]);
  });

  it('drop-newest keeps the oldest snapshots and marks the gap after them', async () => {
    const store = makeStore();
    const sub = store.subscribe({ queueSize: 3, overflow: 'drop-newest', includeCurrent: false });
    await writeMany(store, 10);
    const events = drain(sub);
    expect(events.slice(0, 3).map((e) => (e as FsmSnapshot).version)).toEqual([1, 2, 3]);
    expect(events[3]).toEqual(new GapMarker(7, 3, undefined));
    await writeMany(store, 1);
    expect(drain(sub).map((e) => (e as FsmSnapshot).version)).toEqual([11]);
  });

  it('overflow "error" ends only that subscription, after what it had queued', async () => {
    const store = makeStore();
    const strict = store.subscribe({ queueSize: 2, overflow: 'error', includeCurrent: false });
    const other = store.subscribe({ queueSize: 100, includeCurrent: false });
    await writeMany(store, 5);
    expect(store.version).toBe(5);
    expect(store.getMetrics().subscribers).toBe(1);
    const got: number[] = [];
    let failure: unknown;
    try {
      for await (const e of strict) got.push((e as FsmSnapshot).version);
    } catch (error) {
      failure = error;
    }
    expect(got).toEqual([1, 2]);
    expect(isStateStoreError(failure, 'STATE_SUBSCRIBER_OVERFLOW')).toBe(true);
    expect(strict.error?.code).toBe('STATE_SUBSCRIBER_OVERFLOW');
    expect(drain(other)).toHaveLength(5);
  });

  it('a stalled subscriber never blocks set() or a live subscriber, and holds at most queueSize', async () => {
    const store = makeStore();
    const stalled = store.subscribe({ queueSize: 8 });
    const live = store.subscribe({ queueSize: 4 });
    let received = 0;
    const consumer = (async () => {
      for await (const e of live) {
        if (!isGap(e)) received++;
        if (!isGap(e) && e.version === 20_000) break;
      }
    })();
    let s = store.get();
    for (let i = 0; i < 20_000; i++) {
      s = nextSnapshot(s, s.state === 'IDLE' ? 'ACTIVE' : 'IDLE', 'x');
      await store.set(s); // resolves although `stalled` never reads
      assert.ok(stalled.queued <= 8);
    }
    await consumer;
    expect(received).toBe(20_001);
    expect(stalled.metrics).toMatchObject({ queued: 8, dropped: 20_001 - 8, highWater: 8 });
  });

  it('a stalled subscriber does not keep dropped snapshots alive (bounded memory)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const store = makeStore();
    const stalled = store.subscribe({ queueSize: 4, includeCurrent: false });
    const refs: Array<WeakRef<FsmSnapshot>> = [];
    let s = store.get();
    for (let i = 0; i < 1_000; i++) {
      s = nextSnapshot(s, s.state === 'IDLE' ? 'ACTIVE' : 'IDLE', 'x', {
        mergeContext: { blob: 'y'.repeat(1000) },
      });
      if (i < 50) refs.push(new WeakRef(s));
      await store.set(s);
    }
    await new Promise((r) => setImmediate(r));
    gc();
    expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    expect(stalled.queued).toBe(4);
  });

  it('unsubscribe releases the queue and ends a waiting iteration', async () => {
    const store = makeStore();
    const sub = store.subscribe({ queueSize: 1000, includeCurrent: false });
    await writeMany(store, 100);
    expect(sub.queued).toBe(100);
    sub.unsubscribe();
    sub.unsubscribe();
    expect(sub.queued).toBe(0);
    expect(await sub.next()).toEqual({ value: undefined, done: true });
    const waiting = store.subscribe({ includeCurrent: false });
    const pending = waiting.next();
    waiting.unsubscribe();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(store.getMetrics().subscribers).toBe(0);
  });

  it('close delivers what is queued, then ends every iteration', async () => {
    const store = makeStore();
    const sub = store.subscribe({ includeCurrent: false });
    await writeMany(store, 3);
    await store.close();
    const got: number[] = [];
    for await (const e of sub) got.push((e as FsmSnapshot).version);
    expect(got).toEqual([1, 2, 3]);
  });
});
