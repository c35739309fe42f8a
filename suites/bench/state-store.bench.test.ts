// The state-store benchmark matrix (bench and nightly profiles): set/get throughput and latency
// with 0, 10, 100 and 1,000 subscribers, fan-out deliveries per second, tinybench cross-checks,
// journal cost per fsync policy, converter speed, and memory growth over a long run.
// suites/latency/state-store.latency.test.ts records a small version of the same figures in smoke;
// both measure through suites/_helpers/state-store-workload.ts.
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
  recordLatency,
  recordResources,
  recordThroughput,
  type StartedSystem,
  ThroughputMeter,
} from '../../harness/index.ts';
import {
  AsyncStateStore,
  type FsyncPolicy,
  fromProto,
  initialSnapshot,
  nextSnapshot,
  toProto,
} from '../../systems/state-store/index.ts';
import {
  BATCH,
  fanOut,
  measureSetGet,
  recordFanOut,
  recordSetGet,
  storeWith,
  toActive,
  warm,
} from '../_helpers/state-store-workload.ts';

const started: StartedSystem<AsyncStateStore>[] = [];
const dirs: string[] = [];
const stores: AsyncStateStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await Promise.all(started.splice(0).map((s) => s.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('state-store benchmarks', () => {
  // First, so that no earlier test's garbage (tinybench keeps every sample) blurs the RSS curve.
  it('memory growth over a long run', async () => {
    const soakMs = profile().soakMs;
    const { store } = await storeWith(100, started);
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
    const { store, received } = await storeWith(n, started);
    await warm(store);
    progress(`state-store bench: ${n} subscribers`, true);
    const m = await measureSetGet(store, ms);
    if (n > 0) expect(received()).toBe(n * (store.version - 2));
    await recordSetGet(n, m);
  });

  it.each([10, 100, 1000])('fan-out deliveries with %i subscribers', async (n) => {
    const { store, received } = await storeWith(n, started);
    await warm(store);
    const before = received();
    const result = await fanOut(store, n, profile().durationMs);
    expect(received() - before).toBe(result.count);
    expect(store.getMetrics().dropped).toBe(0);
    await recordFanOut(n, result);
  });

  // get() is not here: tinybench times each call on its own, and a call of get() costs about what
  // the clock does (the timer floor marks such a figure invalid). Its headline figures are the
  // amortised batches of measureSetGet().
  it('tinybench cross-check of set and nextSnapshot', async () => {
    const { store } = await storeWith(0, started);
    let s = store.get();
    const results = await microBench(
      {
        set: () => {
          s = nextSnapshot(s, 'ACTIVE', 'tb');
          return store.set(s);
        },
        nextSnapshot: () => nextSnapshot(s, 'ACTIVE', 'tb'),
      },
      // tinybench keeps every sample: a short window is plenty at ~100 ns per call.
      { timeMs: Math.min(1000, profile().durationMs / 4), warmupMs: Math.min(500, profile().warmupMs) },
    );
    for (const [name, r] of Object.entries(results)) {
      await recordBench(`state-store.micro.${name}`, r, {
        method: `tinybench task: ${name} (sync call, ack not awaited)`,
      });
    }
    // After recording: an errored task is a figure with its reason first, then a failed test.
    for (const [name, r] of Object.entries(results)) expect(r.state, name).toBe('completed');
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
    for (const [name, r] of Object.entries(results)) expect(r.state, name).toBe('completed');
  });
});
