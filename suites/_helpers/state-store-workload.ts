// The state-store workload shared by its latency (smoke), bench and stress suites: stores with
// draining subscribers, and the set/get loops whose figures they record. One definition, so that
// smoke and bench figures with the same id are measured the same way.
import { expect } from 'vitest';
import {
  LatencyRecorder,
  profile,
  recordFigure,
  recordLatency,
  recordThroughput,
  type StartedSystem,
  startSystem,
  summarize,
  ThroughputMeter,
  type ThroughputResult,
  timeBatches,
} from '../../harness/index.ts';
import {
  type AsyncStateStore,
  type FsmSnapshot,
  isGap,
  nextSnapshot,
  stateStoreSystem,
} from '../../systems/state-store/index.ts';

export const BATCH = 256;

/** BOOTING -> IDLE -> ACTIVE, so that ACTIVE -> ACTIVE writes are legal. */
export async function toActive(store: AsyncStateStore): Promise<AsyncStateStore> {
  await store.set(nextSnapshot(store.get(), 'IDLE', 'up'));
  await store.set(nextSnapshot(store.get(), 'ACTIVE', 'go'));
  return store;
}

/** A fresh ACTIVE store with `n` subscribers draining it through `for await`; tracked for stop. */
export async function storeWith(
  n: number,
  started: StartedSystem<AsyncStateStore>[],
): Promise<{ store: AsyncStateStore; received: () => number }> {
  const system = await startSystem(stateStoreSystem);
  started.push(system);
  const store = await toActive(system.api);
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    const sub = store.subscribe({ queueSize: 1024, includeCurrent: false });
    void (async () => {
      for await (const e of sub) if (!isGap(e)) counts[i]!++;
    })();
  }
  return { store, received: () => counts.reduce((a, b) => a + b, 0) };
}

/** Unmeasured sets and gets for the profile's warm-up window. */
export async function warm(store: AsyncStateStore): Promise<void> {
  const until = performance.now() + profile().warmupMs;
  let s = store.get();
  while (performance.now() < until) {
    for (let i = 0; i < BATCH; i++) {
      s = nextSnapshot(s, 'ACTIVE', 'warm');
      await store.set(s);
      store.get();
    }
  }
}

/** Awaited sets for `ms`: ops/s over 100 ms intervals. */
export async function setThroughput(store: AsyncStateStore, ms: number): Promise<ThroughputResult> {
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
export async function setLatency(store: AsyncStateStore, ms: number) {
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

export function getThroughput(store: AsyncStateStore, ms: number): ThroughputResult {
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

/**
 * get() calls timed together. One call takes a few tens of nanoseconds, about what reading the
 * clock costs, so a call timed on its own measures the clock; a batch spreads the two clock reads
 * over GET_BATCH calls.
 */
export const GET_BATCH = 1024;

/** Amortised get() time, ns per call: one sample per batch of GET_BATCH calls timed together. */
export function getLatency(store: AsyncStateStore, ms: number): number[] {
  return timeBatches(() => store.get(), { batch: GET_BATCH, ms });
}

/** Set and get throughput and latency, each over its own `ms` window. */
export async function measureSetGet(store: AsyncStateStore, ms: number) {
  const setTp = await setThroughput(store, ms);
  const { call, roundtrip } = await setLatency(store, ms);
  const getTp = getThroughput(store, ms);
  const getLat = getLatency(store, ms);
  return { setTp, call, roundtrip, getTp, getLat };
}

async function recordMean(id: string, rec: LatencyRecorder, method: string): Promise<void> {
  const stats = rec.stats('mean');
  await recordFigure({ id, value: stats.mean, unit: rec.unit, better: 'lower', n: stats.n, stats, method });
}

/**
 * `${prefix}.p50/.p95/.p99/.mean` of amortised per-call times (ns), one sample per batch,
 * labelled `timing: amortised` so that the timer floor does not apply to them.
 */
async function recordAmortised(prefix: string, perCallNs: number[], method: string): Promise<void> {
  for (const statistic of ['p50', 'p95', 'p99', 'mean'] as const) {
    const stats = summarize(perCallNs, { statistic, resamples: profile().resamples });
    await recordFigure({
      id: `${prefix}.${statistic}`,
      value: stats[statistic],
      unit: 'ns',
      better: 'lower',
      n: stats.n,
      stats,
      percentiles: [
        [0, stats.min],
        [50, stats.p50],
        [90, stats.p90],
        [95, stats.p95],
        [99, stats.p99],
        [100, stats.max],
      ],
      method,
      labels: { timing: 'amortised' },
    });
  }
}

/** The `state-store.{set,get}.<n>subs.*` figures of one measureSetGet(). */
export async function recordSetGet(n: number, m: Awaited<ReturnType<typeof measureSetGet>>): Promise<void> {
  const how = `in process, nextSnapshot() + awaited set() in a loop, ${n} subscribers draining with for-await`;
  const callHow = `${how}; hrtime around nextSnapshot() + set() until set() returns`;
  await recordThroughput(`state-store.set.${n}subs.throughput`, m.setTp, { method: how });
  await recordLatency(`state-store.set.${n}subs`, m.call, { method: callHow });
  await recordMean(`state-store.set.${n}subs.mean`, m.call, callHow);
  await recordLatency(`state-store.set.${n}subs.roundtrip`, m.roundtrip, {
    method: `${how}; hrtime from nextSnapshot() to the end of await set(), subscribers' bodies included`,
  });
  const getHow = `in process, get() in a loop, ${n} subscribers`;
  await recordThroughput(`state-store.get.${n}subs.throughput`, m.getTp, { method: getHow });
  await recordAmortised(
    `state-store.get.${n}subs`,
    m.getLat,
    `${getHow}; hrtime around each batch of ${GET_BATCH} calls, divided by ${GET_BATCH} (amortised per-call time; ${m.getLat.length} batches give the distribution)`,
  );
}

/** Awaited sets for `ms`, counting `n` deliveries per set (subscribers run before the await returns). */
export async function fanOut(store: AsyncStateStore, n: number, ms: number): Promise<ThroughputResult> {
  const meter = new ThroughputMeter().start();
  let s = store.get();
  const until = performance.now() + ms;
  while (performance.now() < until) {
    s = nextSnapshot(s, 'ACTIVE', 'fan');
    await store.set(s);
    meter.add(n);
  }
  return meter.stop();
}

export async function recordFanOut(n: number, result: ThroughputResult): Promise<void> {
  await recordThroughput(`state-store.fanout.${n}subs.deliveries`, result, {
    unit: 'msg/s',
    method: `awaited set() in a loop; deliveries = snapshots received by ${n} for-await consumers per second`,
  });
}
