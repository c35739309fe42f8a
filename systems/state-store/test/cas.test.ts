import assert from 'node:assert/strict';
import { afterEach, describe, expect, it } from 'vitest';
import { AsyncStateStore, type FsmSnapshot, initialSnapshot, isGap, nextSnapshot } from '../index.ts';

const stores: AsyncStateStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

/** Yield to other writers in varied ways, so that read-modify-write windows overlap. */
function pause(i: number): Promise<void> {
  if (i % 3 === 0) return new Promise((r) => setImmediate(r));
  if (i % 3 === 1) return Promise.resolve();
  return new Promise((r) => queueMicrotask(r));
}

describe('concurrent compareAndSet', () => {
  it('never loses an update: 50 writers incrementing a counter', async () => {
    const store = new AsyncStateStore({
      initial: { ...nextSnapshot(initialSnapshot(), 'IDLE', 'up'), contextData: { counter: '0' } },
    });
    stores.push(store);
    const watcher = store.subscribe({ queueSize: 100_000, includeCurrent: false });
    const writers = 50;
    const perWriter = 40;
    let conflicts = 0;
    const successes: Array<{ expected: number; next: FsmSnapshot }> = [];
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let k = 0; k < perWriter; ) {
          const cur = store.get();
          await pause(w + k + conflicts);
          const counter = Number(cur.contextData.counter) + 1;
          const next = nextSnapshot(cur, cur.state === 'IDLE' ? 'ACTIVE' : 'IDLE', `w${w}.${k}`, {
            mergeContext: { counter: String(counter) },
          });
          if (await store.compareAndSet(cur.version, next)) {
            successes.push({ expected: cur.version, next });
            k++;
          } else conflicts++;
        }
      }),
    );
    const total = writers * perWriter;
    expect(conflicts).toBeGreaterThan(0); // the windows did overlap
    expect(store.version).toBe(1 + total);
    expect(store.get().contextData.counter).toBe(String(total));
    for (const s of successes) assert.equal(s.next.version, s.expected + 1);
    // Every acknowledged write is in the watcher's stream, in version order, with no gaps.
    const seen: string[] = [];
    let version = 1;
    for (let e = watcher.poll(); e !== undefined; e = watcher.poll()) {
      if (isGap(e)) throw new Error('gap in an unbounded-enough queue');
      assert.equal(e.version, ++version);
      seen.push(e.reason);
    }
    expect(new Set(seen)).toEqual(new Set(successes.map((s) => s.next.reason)));
    expect(store.getMetrics().cas_conflicts).toBe(conflicts);
  });
});
