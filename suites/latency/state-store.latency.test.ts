// A small version of the state-store benchmark matrix, so that every smoke run records the
// headline figures: set/get throughput and latency with 0 and 100 subscribers, fan-out rate.
// The full matrix (0/10/1,000 subscribers, memory growth) is suites/bench/state-store.bench.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import {
  LatencyRecorder,
  profile,
  recordFigure,
  recordLatency,
  recordThroughput,
  type StartedSystem,
  startSystem,
  ThroughputMeter,
} from '../../harness/index.ts';
import {
  type AsyncStateStore,
  type FsmSnapshot,
  isGap,
  nextSnapshot,
} from '../../systems/state-store/index.ts';

const started: StartedSystem<AsyncStateStore>[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

/** A fresh store in the ACTIVE state with `n` subscribers draining it through `for await`. */
async function storeWith(n: number): Promise<{ store: AsyncStateStore; received: () => number }> {
  const system = await startSystem<AsyncStateStore>('state-store');
  started.push(system);
  const store = system.api!;
  await store.set(nextSnapshot(store.get(), 'IDLE', 'up'));
  await store.set(nextSnapshot(store.get(), 'ACTIVE', 'go'));
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    const sub = store.subscribe({ queueSize: 1024, includeCurrent: false });
    void (async () => {
      for await (const e of sub) if (!isGap(e)) counts[i]!++;
    })();
  }
  return { store, received: () => counts.reduce((a, b) => a + b, 0) };
}

const BATCH = 256;

/** Awaited sets for `ms`: ops/s over 100 ms intervals. */
async function setThroughput(store: AsyncStateStore, ms: number) {
  let s: FsmSnapshot = store.get();
  const meter = new ThroughputMeter().start();
  const until = performance.now() + ms;
  while (performance.now() < until) {
    for (let i = 0; i < BATCH; i++) {
      s = nextSnapshot(s, 'ACTIVE', 'tick');
      await store.set(s);
    }
    meter.add(BATCH);
  }
  return meter.stop();
}

/**
 * Each set timed on its own: `call` is nextSnapshot() + set() until it returns (applied and
 * queued to every subscriber; in memory the ack is already resolved); `roundtrip` runs on to the
 * end of the `await`, by which time every subscriber's for-await body has run as well.
 */
async function setLatency(store: AsyncStateStore, ms: number) {
  const call = new LatencyRecorder({ unit: 'us' });
  const roundtrip = new LatencyRecorder({ unit: 'us' });
  let s: FsmSnapshot = store.get();
  const until = performance.now() + ms;
  while (performance.now() < until) {
    for (let i = 0; i < BATCH; i++) {
      const t0 = process.hrtime.bigint();
      s = nextSnapshot(s, 'ACTIVE', 'tick');
      const ack = store.set(s);
      call.recordSince(t0);
      await ack;
      roundtrip.recordSince(t0);
    }
  }
  return { call, roundtrip };
}

function getThroughput(store: AsyncStateStore, ms: number) {
  const meter = new ThroughputMeter().start();
  const until = performance.now() + ms;
  let sink = 0;
  while (performance.now() < until) {
    for (let i = 0; i < 4096; i++) sink += store.get().version;
    meter.add(4096);
  }
  expect(sink).toBeGreaterThan(0);
  return meter.stop();
}

function getLatency(store: AsyncStateStore, ms: number): LatencyRecorder {
  const rec = new LatencyRecorder({ unit: 'us' });
  const until = performance.now() + ms;
  while (performance.now() < until) {
    for (let i = 0; i < BATCH; i++) {
      const t0 = process.hrtime.bigint();
      store.get();
      rec.recordSince(t0);
    }
  }
  return rec;
}

async function recordMean(id: string, rec: LatencyRecorder, method: string): Promise<void> {
  const stats = rec.stats('mean');
  await recordFigure({ id, value: stats.mean, unit: rec.unit, better: 'lower', n: stats.n, stats, method });
}

// Profiles that run the bench category record these same figure ids at full size there.
const benchRuns = profile().suites.includes('bench');

describe.skipIf(benchRuns)('state-store latency (smoke-sized benchmark)', () => {
  const window = () => Math.max(200, Math.round(profile().durationMs / 2));

  it.each([0, 100])('set and get with %i subscribers', async (n) => {
    const { store, received } = await storeWith(n);
    const setTp = await setThroughput(store, window());
    const { call: setLat, roundtrip } = await setLatency(store, window());
    const getTp = getThroughput(store, window());
    const getLat = getLatency(store, window());
    const sets = setTp.count + setLat.n;
    expect(store.getMetrics().total_sets).toBe(sets + 2);
    if (n > 0) expect(received()).toBe(n * sets);
    const how = `in process, nextSnapshot() + awaited set() in a loop, ${n} subscribers draining with for-await`;
    await recordThroughput(`state-store.set.${n}subs.throughput`, setTp, { method: how });
    const callHow = `${how}; hrtime around nextSnapshot() + set() until set() returns`;
    await recordLatency(`state-store.set.${n}subs`, setLat, { method: callHow });
    await recordMean(`state-store.set.${n}subs.mean`, setLat, callHow);
    await recordLatency(`state-store.set.${n}subs.roundtrip`, roundtrip, {
      method: `${how}; hrtime from nextSnapshot() to the end of await set(), subscribers' bodies included`,
    });
    const getHow = `in process, get() in a loop, ${n} subscribers`;
    await recordThroughput(`state-store.get.${n}subs.throughput`, getTp, { method: getHow });
    await recordLatency(`state-store.get.${n}subs`, getLat, {
      method: `${getHow}; each op timed with hrtime`,
    });
    await recordMean(`state-store.get.${n}subs.mean`, getLat, `${getHow}; each op timed with hrtime`);
  });

  it('fan-out to 100 subscribers', async () => {
    const n = 100;
    const { store, received } = await storeWith(n);
    const meter = new ThroughputMeter().start();
    let s = store.get();
    const until = performance.now() + window();
    while (performance.now() < until) {
      s = nextSnapshot(s, 'ACTIVE', 'fan');
      await store.set(s); // subscribers' for-await continuations run before this await returns
      meter.add(n);
    }
    const result = meter.stop();
    expect(received()).toBe(result.count);
    expect(store.getMetrics().dropped).toBe(0);
    await recordThroughput(`state-store.fanout.${n}subs.deliveries`, result, {
      unit: 'msg/s',
      method: `awaited set() in a loop; deliveries = snapshots received by ${n} for-await consumers per second`,
    });
  });
});
