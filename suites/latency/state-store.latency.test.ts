// A small version of the state-store benchmark matrix, so that every smoke run records the
// headline figures: set/get throughput and latency with 0 and 100 subscribers, fan-out rate.
// The full matrix (0/10/1,000 subscribers, memory growth) is suites/bench/state-store.bench.test.ts;
// both measure through suites/_helpers/state-store-workload.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { profile, type StartedSystem } from '../../harness/index.ts';
import type { AsyncStateStore } from '../../systems/state-store/index.ts';
import {
  fanOut,
  measureSetGet,
  recordFanOut,
  recordSetGet,
  storeWith,
} from '../_helpers/state-store-workload.ts';

const started: StartedSystem<AsyncStateStore>[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

// Profiles that run the bench category record these same figure ids at full size there.
const benchRuns = profile().suites.includes('bench');

describe('state-store latency (smoke-sized benchmark)', () => {
  beforeEach((ctx) => {
    ctx.skip(
      benchRuns,
      `the ${profile().name} profile runs suites/bench/state-store.bench.test.ts, which records these figure ids at full size`,
    );
  });
  const window = () => Math.max(200, Math.round(profile().durationMs / 2));

  it.each([0, 100])('set and get with %i subscribers', async (n) => {
    const { store, received } = await storeWith(n, started);
    const m = await measureSetGet(store, window());
    const sets = m.setTp.count + m.call.n;
    expect(store.getMetrics().total_sets).toBe(sets + 2);
    if (n > 0) expect(received()).toBe(n * sets);
    await recordSetGet(n, m);
  });

  it('fan-out to 100 subscribers', async () => {
    const n = 100;
    const { store, received } = await storeWith(n, started);
    const result = await fanOut(store, n, window());
    expect(received()).toBe(result.count);
    expect(store.getMetrics().dropped).toBe(0);
    await recordFanOut(n, result);
  });
});
