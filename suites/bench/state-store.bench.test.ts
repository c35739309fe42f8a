// The state-store benchmark matrix (bench and nightly profiles): set/get throughput and latency
// with 0, 10, 100 and 1,000 subscribers, fan-out deliveries per second, tinybench cross-checks,
// journal cost per fsync policy, converter speed, and memory growth over a long run.
// suites/latency/state-store.latency.test.ts records a small version of the same figures in smoke.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LatencyRecorder,
  microBench,
  profile,
  progress,
  ResourceSampler,
  recordBench,
  recordFigure,
  recordLatency,
  recordResources,
  recordThroughput,
  type StartedSystem,
  startSystem,
  ThroughputMeter,
} from '../../harness/index.ts';
import {
  AsyncStateStore,
  type FsmSnapshot,
  type FsyncPolicy,
  fromProto,
  initialSnapshot,
  isGap,
  nextSnapshot,
  toProto,
} from '../../systems/state-store/index.ts';

const started: StartedSystem<AsyncStateStore>[] = [];
const dirs: string[] = [];
const stores: AsyncStateStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await Promise.all(started.splice(0).map((s) => s.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function toActive(store: AsyncStateStore): Promise<AsyncStateStore> {
  await store.set(nextSnapshot(store.get(), 'IDLE', 'up'));
  await store.set(nextSnapshot(store.get(), 'ACTIVE', 'go'));
  return store;
}

/** A fresh store with `n` subscribers draining it through `for await`. */
async function storeWith(n: number): Promise<{ store: AsyncStateStore; received: () => number }> {
  const system = await startSystem<AsyncStateStore>('state-store');
  started.push(system);
  const store = await toActive(system.api!);
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

async function warm(store: AsyncStateStore): Promise<void> {
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

/** `call`: nextSnapshot() + set() until it returns; `roundtrip`: to the end of its await (subscribers ran). */
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

describe('state-store benchmarks', () => {
  // First, so that no earlier test's garbage (tinybench keeps every sample) blurs the RSS curve.
  it('memory growth over a long run', async () => {
    const soakMs = profile().soakMs;
    const { store } = await storeWith(100);
    const stalled = Array.from({ length: 10 }, () => store.subscribe({ queueSize: 256 }));
    await warm(store); // growth is measured from a warmed-up heap, not from the JIT's first minutes
    const sampler = new ResourceSampler({ intervalMs: 250 }).start();
    const meter = new ThroughputMeter({ intervalMs: 1000 }).start();
    let s = store.get();
    const until = performance.now() + soakMs;
    let i = 0;
    while (performance.now() < until) {
      for (let k = 0; k < BATCH; k++, i++) {
        s = nextSnapshot(
          s,
          'ACTIVE',
          'soak',
          i % 128 === 0 ? { mergeContext: { [`k${i % 500}`]: String(i) } } : undefined,
        );
        await store.set(s);
      }
      meter.add(BATCH);
      progress(`state-store soak: ${i} writes`);
      await new Promise((resolve) => setImmediate(resolve)); // let the sampler's timer run
    }
    const result = meter.stop();
    const resources = sampler.stop();
    expect(resources.samples.length).toBeGreaterThan(2);
    for (const st of stalled) expect(st.queued).toBe(256);
    await recordResources('state-store.soak', resources, {
      method: `test process over ${soakMs} ms of awaited sets with 100 live and 10 stalled subscribers`,
    });
    await recordThroughput('state-store.soak.set.throughput', result, {
      method: `awaited sets over ${soakMs} ms with 100 live and 10 stalled subscribers`,
    });
  });

  it.each([0, 10, 100, 1000])('set and get with %i subscribers', async (n) => {
    const ms = profile().durationMs;
    const { store, received } = await storeWith(n);
    await warm(store);
    progress(`state-store bench: ${n} subscribers`, true);
    const setTp = await setThroughput(store, ms);
    const { call, roundtrip } = await setLatency(store, ms);
    const getTp = getThroughput(store, ms);
    const getLat = getLatency(store, ms);
    if (n > 0) expect(received()).toBe(n * (store.version - 2));
    const how = `in process, nextSnapshot() + awaited set() in a loop, ${n} subscribers draining with for-await`;
    const callHow = `${how}; hrtime around nextSnapshot() + set() until set() returns`;
    await recordThroughput(`state-store.set.${n}subs.throughput`, setTp, { method: how });
    await recordLatency(`state-store.set.${n}subs`, call, { method: callHow });
    await recordMean(`state-store.set.${n}subs.mean`, call, callHow);
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

  it.each([10, 100, 1000])('fan-out deliveries with %i subscribers', async (n) => {
    const { store, received } = await storeWith(n);
    await warm(store);
    const before = received();
    const meter = new ThroughputMeter().start();
    let s = store.get();
    const until = performance.now() + profile().durationMs;
    while (performance.now() < until) {
      s = nextSnapshot(s, 'ACTIVE', 'fan');
      await store.set(s);
      meter.add(n);
    }
    const result = meter.stop();
    expect(received() - before).toBe(result.count);
    expect(store.getMetrics().dropped).toBe(0);
    await recordThroughput(`state-store.fanout.${n}subs.deliveries`, result, {
      unit: 'msg/s',
      method: `awaited set() in a loop; deliveries = snapshots received by ${n} for-await consumers per second`,
    });
  });

  it('tinybench cross-check of set, get and nextSnapshot', async () => {
    const { store } = await storeWith(0);
    let s = store.get();
    const results = await microBench(
      {
        set: () => {
          s = nextSnapshot(s, 'ACTIVE', 'tb');
          return store.set(s);
        },
        get: () => store.get(),
        nextSnapshot: () => nextSnapshot(s, 'ACTIVE', 'tb'),
      },
      // tinybench keeps every sample: a short window is plenty at ~100 ns per call.
      { timeMs: Math.min(1000, profile().durationMs / 4), warmupMs: Math.min(500, profile().warmupMs) },
    );
    for (const [name, r] of Object.entries(results)) {
      expect(r.state).toBe('completed');
      await recordBench(`state-store.micro.${name}`, r, {
        method: `tinybench task: ${name} (sync call, ack not awaited)`,
      });
    }
  });

  it.each(['always', 'batch', 'never'] as FsyncPolicy[])('journaled set with fsync %s', async (fsync) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'state-store-bench-'));
    dirs.push(dir);
    const store = await AsyncStateStore.open({ journal: path.join(dir, 'state.journal'), fsync });
    stores.push(store);
    await toActive(store);
    const ms = Math.max(500, profile().durationMs / 2);
    // Sequential: one write in flight, each timed to its acknowledgment.
    const lat = new LatencyRecorder({ unit: 'us' });
    const seq = new ThroughputMeter().start();
    let s = store.get();
    let until = performance.now() + ms;
    while (performance.now() < until) {
      const t0 = process.hrtime.bigint();
      s = nextSnapshot(s, 'ACTIVE', 'j', { mergeContext: { v: String(s.version) } });
      await store.set(s);
      lat.recordSince(t0);
      seq.add(1);
    }
    const seqResult = seq.stop();
    // Concurrent: 64 writes in flight share write(2)/fdatasync calls (group commit).
    const group = new ThroughputMeter().start();
    until = performance.now() + ms;
    while (performance.now() < until) {
      const acks: Array<Promise<void>> = [];
      for (let i = 0; i < 64; i++) {
        s = nextSnapshot(s, 'ACTIVE', 'j');
        acks.push(store.set(s));
      }
      await Promise.all(acks);
      group.add(64);
    }
    const groupResult = group.stop();
    const journal = store.getMetrics().journal!;
    expect(journal.failed).toBe(false);
    await recordThroughput(`state-store.journal.${fsync}.set.throughput`, seqResult, {
      method: `awaited journaled set(), one in flight, fsync ${fsync}`,
    });
    await recordLatency(`state-store.journal.${fsync}.set`, lat, {
      method: `nextSnapshot() + set() to its acknowledgment, fsync ${fsync}`,
    });
    await recordThroughput(`state-store.journal.${fsync}.group.throughput`, groupResult, {
      method: `journaled set() in batches of 64 in flight, fsync ${fsync} (group commit: ${journal.syncs} fdatasyncs for ${journal.appended} records)`,
    });
  });

  it('protobuf converter speed', async () => {
    let s = nextSnapshot(initialSnapshot(), 'IDLE', 'up', {
      contextData: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, `v${i}`.repeat(4)])),
    });
    s = nextSnapshot(s, 'ACTIVE', 'go');
    const bytes = toProto(s);
    const results = await microBench(
      { encode: () => toProto(s), decode: () => fromProto(bytes) },
      { timeMs: Math.min(1000, profile().durationMs / 4), warmupMs: Math.min(500, profile().warmupMs) },
    );
    for (const [name, r] of Object.entries(results)) {
      await recordBench(`state-store.proto.${name}`, r, {
        method: `protobufjs ${name} of a 16-entry snapshot (${bytes.length} B), decode includes zod validation`,
      });
    }
  });
});
