import { afterEach, describe, expect, it } from 'vitest';
import { AsyncStateStore, initialSnapshot, isStateStoreError, nextSnapshot } from '../index.ts';

const stores: AsyncStateStore[] = [];
function makeStore(...args: ConstructorParameters<typeof AsyncStateStore>): AsyncStateStore {
  const store = new AsyncStateStore(...args);
  stores.push(store);
  return store;
}
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (error) {
    if (isStateStoreError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('AsyncStateStore', () => {
  it('sets and gets snapshots', async () => {
    const store = makeStore();
    const s1 = nextSnapshot(store.get(), 'IDLE', 'up');
    await store.set(s1);
    expect(store.get()).toBe(s1);
    expect(store.version).toBe(1);
  });

  it('rejects a snapshot that is not newer, and leaves the state alone', async () => {
    const store = makeStore();
    const s1 = nextSnapshot(store.get(), 'IDLE', 'up');
    await store.set(s1);
    expect((await rejection(store.set(s1))).code).toBe('STATE_STALE_VERSION');
    expect((await rejection(store.set({ ...initialSnapshot(), version: 0 }))).code).toBe(
      'STATE_STALE_VERSION',
    );
    expect(store.get()).toBe(s1);
    expect(store.getMetrics().rejected).toBe(2);
  });

  it('rejects illegal transitions and invalid plain objects', async () => {
    const store = makeStore();
    const r = await rejection(store.set({ ...initialSnapshot(), version: 1, state: 'ACTIVE' }));
    expect(r.code).toBe('STATE_ILLEGAL_TRANSITION');
    expect((await rejection(store.set({ version: 'x' } as never))).code).toBe('STATE_INVALID_SNAPSHOT');
    expect(store.version).toBe(0);
    const lax = makeStore({ enforceTransitions: false });
    await lax.set({ ...initialSnapshot(), version: 1, state: 'ACTIVE' });
    expect(lax.get().state).toBe('ACTIVE');
  });

  it('validates plain objects and stores a frozen copy', async () => {
    const store = makeStore();
    const plain = { ...nextSnapshot(store.get(), 'IDLE', 'up'), contextData: { k: 'v' } };
    await store.set(plain);
    expect(store.get()).not.toBe(plain);
    expect(store.get()).toEqual(plain);
    expect(Object.isFrozen(store.get())).toBe(true);
  });

  it('compareAndSet applies only on the expected version and needs version + 1', async () => {
    const store = makeStore();
    const s1 = nextSnapshot(store.get(), 'IDLE', 'up');
    expect(await store.compareAndSet(0, s1)).toBe(true);
    expect(await store.compareAndSet(0, nextSnapshot(initialSnapshot(), 'IDLE', 'late'))).toBe(false);
    expect(store.get()).toBe(s1);
    const skip = nextSnapshot(nextSnapshot(s1, 'ACTIVE', 'a'), 'IDLE', 'b');
    expect((await rejection(store.compareAndSet(1, skip))).code).toBe('STATE_INVALID_SNAPSHOT');
    const m = store.getMetrics();
    expect(m.cas_conflicts).toBe(1);
    expect(m.total_sets).toBe(1);
  });

  it('counts sets, gets and subscribers in getMetrics', async () => {
    const store = makeStore();
    let s = store.get();
    const sub = store.subscribe({ queueSize: 4 });
    for (let i = 0; i < 3; i++) {
      s = nextSnapshot(s, i === 0 ? 'IDLE' : 'ACTIVE', 'x');
      await store.set(s);
    }
    store.get();
    const m = store.getMetrics();
    expect(m).toMatchObject({
      total_sets: 3,
      total_gets: 2,
      subscribers: 1,
      version: 3,
      queue_high_water: 4,
    });
    expect(m.per_subscriber[0]).toMatchObject({ queued: 4, dropped: 0, overflow: 'drop-oldest' });
    sub.unsubscribe();
    expect(store.getMetrics().subscribers).toBe(0);
  });

  it('refuses work after close, and close is idempotent', async () => {
    const store = makeStore();
    await store.close();
    await store.close();
    expect(() => store.get()).toThrow(/closed/);
    expect((await rejection(store.set(nextSnapshot(initialSnapshot(), 'IDLE', 'x')))).code).toBe(
      'STATE_STORE_CLOSED',
    );
    expect(() => store.subscribe()).toThrow(/closed/);
  });

  it('validates options', () => {
    expect(() => makeStore({ bogus: 1 } as never)).toThrow(/STATE_INVALID_OPTIONS/);
    const store = makeStore();
    expect(() => store.subscribe({ queueSize: 0 })).toThrow(/subscribe\.queueSize/);
    expect(() => store.subscribe({ overflow: 'block' as never })).toThrow(/subscribe\.overflow/);
  });
});
