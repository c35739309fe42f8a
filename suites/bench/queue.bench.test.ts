// The queue's benchmark matrix (bench/nightly profiles): cross-process throughput at 1x1 and 4x4
// for 64 B .. 64 KiB, round-trip latency with spinning and sleeping waiters, memory efficiency,
// and same-run references (worker_threads postMessage, a Unix-domain socket, a memcpy).
import { describe, expect, it } from 'vitest';
import {
  type Figure,
  LatencyRecorder,
  microBench,
  profile,
  progress,
  recordBench,
  recordFigure,
  recordLatency,
  recordThroughput,
  type ThroughputResult,
  throughputFromCounts,
  useSystem,
} from '../../harness/index.ts';
import { bench, listSegments, type QueueSystemApi } from '../../systems/queue/index.ts';

const system = useSystem<QueueSystemApi>('queue');
const bench_tasks = (tasks: Record<string, () => unknown>) =>
  microBench(tasks, { timeMs: profile().durationMs / 5, warmupMs: profile().warmupMs / 5 });

/** The queue's bench counts in its own processes; the harness turns the counts into a rate. */
function toThroughput(s: bench.RateSample): ThroughputResult {
  return throughputFromCounts(
    { count: s.count, bytes: s.bytes, elapsedMs: s.elapsedMs, intervalMs: s.bucketMs, buckets: s.buckets },
    { resamples: profile().resamples },
  );
}

const ref = (f: Figure) => ({ id: f.id, value: f.value });
const window = () => ({ durationMs: profile().durationMs, warmupMs: profile().warmupMs });
const SIZES: Array<[string, number]> = [
  ['64B', 64],
  ['256B', 256],
  ['1KiB', 1024],
  ['4KiB', 4096],
  ['64KiB', 65536],
];
const segmentsBefore = new Set(listSegments());

/** Reference figures per size, filled by the first test and used by the others. */
const refs = new Map<string, { postMessage: Figure; uds: Figure; memcpy: Figure; memcpyBytes: Figure }>();

describe('queue benchmarks', () => {
  it(
    'references: postMessage, Unix-domain socket and memcpy at every size',
    async () => {
      for (const [label, size] of SIZES) {
        progress(`queue bench: references at ${label}`);
        const pm = toThroughput(await bench.postMessageThroughput({ size, ...window() }));
        const uds = toThroughput(await bench.udsThroughput({ size, ...window() }));
        const mc = toThroughput(bench.memcpyThroughput({ size, ...window() }));
        refs.set(label, {
          postMessage: await recordThroughput(`queue.ref.postmessage.1x1.${label}.rate`, pm, {
            unit: 'msg/s',
            method: `worker_threads: a worker posts ${label} Uint8Arrays to the main thread, credit flow control`,
          }),
          uds: await recordThroughput(`queue.ref.uds.1x1.${label}.rate`, uds, {
            unit: 'msg/s',
            method: `a child process writes ${label} messages back to back on a Unix-domain socket; the test process reads and counts them`,
          }),
          memcpy: await recordThroughput(`queue.ref.memcpy.${label}.rate`, mc, {
            unit: 'msg/s',
            method: `Buffer.copy of ${label} between two buffers in a loop on one thread`,
          }),
          memcpyBytes: await recordThroughput(`queue.ref.memcpy.${label}.bytes`, mc, {
            bytes: true,
            method: `Buffer.copy of ${label} between two buffers in a loop on one thread`,
          }),
        });
      }
      expect(refs.size).toBe(SIZES.length);
    },
    profile().testTimeoutMs,
  );

  for (const [P, C] of [
    [1, 1],
    [4, 4],
  ] as const) {
    it(
      `throughput, ${P} producer x ${C} consumer processes, 64 B .. 64 KiB`,
      async () => {
        for (const [label, size] of SIZES) {
          progress(`queue bench: ${P}x${C} throughput at ${label}`);
          const r = toThroughput(
            await bench.queueThroughput({ producers: P, consumers: C, size, ...window() }),
          );
          expect(r.count).toBeGreaterThan(0);
          const shape = `${P}x${C}`;
          const method = `${P} flood and ${C} drain processes, raw ${label} messages in batches of up to 64 per Node-API call, 4 MiB ring, counted per 50 ms after warm-up`;
          const refsAt = refs.get(label);
          await recordThroughput(`queue.throughput.${shape}.${label}.rate`, r, {
            unit: 'msg/s',
            method,
            ...(refsAt ? { reference: ref(refsAt.postMessage) } : {}),
          });
          await recordThroughput(`queue.throughput.${shape}.${label}.bytes`, r, {
            bytes: true,
            method,
            ...(refsAt ? { reference: ref(refsAt.memcpyBytes) } : {}),
          });
          if (refsAt) {
            await recordThroughput(`queue.throughput.${shape}.${label}.rate_vs_uds`, r, {
              unit: 'msg/s',
              method: `${method}; the same figure read against the Unix-domain socket`,
              reference: ref(refsAt.uds),
            });
          }
        }
      },
      profile().testTimeoutMs,
    );
  }

  it(
    'throughput 1x1 at 64 B without batching (one Node-API call per message)',
    async () => {
      const r = toThroughput(
        await bench.queueThroughput({ producers: 1, consumers: 1, size: 64, batch: 1, ...window() }),
      );
      expect(r.count).toBeGreaterThan(0);
      const refsAt = refs.get('64B');
      await recordThroughput('queue.throughput.1x1.64B.unbatched.rate', r, {
        unit: 'msg/s',
        method:
          'one flood and one drain process moving raw 64 B messages one per Node-API call (putManyFrom/getManyInto of 1), counted per 50 ms after warm-up',
        ...(refsAt ? { reference: ref(refsAt.postMessage) } : {}),
      });
    },
    profile().testTimeoutMs,
  );

  it(
    'round trip 64 B: spinning and sleeping waiters, async get, vs postMessage',
    async () => {
      const pm = new LatencyRecorder({ unit: 'us' });
      await bench.postMessageRoundTrip({
        size: 64,
        count: profile().count(5_000),
        record: (ns) => pm.record(ns),
      });
      await recordLatency('queue.ref.postmessage.roundtrip.64B', pm, {
        method: 'main thread posts 64 B to a worker that posts it back; one sample per round trip',
      });
      const variants = [
        ['spin', 1_000_000, 'sync', profile().count(10_000)],
        ['sleep', 0, 'sync', profile().count(10_000)],
        ['async', 200, 'async', profile().count(2_000)],
      ] as const;
      for (const [variant, spin, wait, count] of variants) {
        progress(`queue bench: round trip (${variant}), ${count} ping-pongs`);
        const rec = new LatencyRecorder({ unit: 'us' });
        await bench.queueRoundTrip({ size: 64, count, spin, wait, record: (ns) => rec.record(ns) });
        expect(rec.n).toBe(count);
        await recordLatency(`queue.roundtrip.64B.${variant}`, rec, {
          method: `put on a ping queue, an echo process returns it on a pong queue; ${
            wait === 'async'
              ? 'this side awaits get() (waiter thread + threadsafe function)'
              : 'this side getIntoSync'
          }; waiters spin ${spin} iterations before the futex; one sample per round trip`,
          referenceRecorder: { prefix: 'queue.ref.postmessage.roundtrip.64B', recorder: pm },
        });
      }
    },
    profile().testTimeoutMs,
  );

  it('memory efficiency at 4 KiB, 64 KiB and 256 KiB capacities', async () => {
    for (const [capLabel, cap] of [
      ['4KiB', 4096],
      ['64KiB', 65536],
      ['256KiB', 262144],
    ] as const) {
      for (const [label, size] of [
        ['64B', 64],
        ['1KiB', 1024],
      ] as const) {
        const m = bench.memoryEfficiency(cap, size);
        expect(m.messages).toBeGreaterThan(0);
        await recordFigure({
          id: `queue.memory.${capLabel}.${label}.efficiency`,
          value: m.efficiency * 100,
          unit: '%',
          better: 'higher',
          n: m.messages,
          method: `fill a ${capLabel} queue with ${label} messages until QueueFull: payload bytes held / capacity (8 B record header, 8 B alignment, wrap padding)`,
        });
      }
    }
  });

  it(
    'per-call costs in one process: raw, value and batched paths (tinybench)',
    async () => {
      const api = system().api!;
      const raw = api.create<Buffer>({ capacityBytes: 1 << 20, mode: 'raw' });
      const val = api.create<unknown>({ capacityBytes: 1 << 20 });
      const small = Buffer.alloc(64, 1);
      const page = Buffer.alloc(4096, 2);
      const target = Buffer.alloc(1 << 16);
      const batch = Buffer.alloc(64 * 64, 3);
      const lens = new Uint32Array(64).fill(64);
      const outLens = new Uint32Array(64);
      const value = { id: 42, name: 'job', tags: ['a', 'b'], at: new Date(0) };
      let results: Awaited<ReturnType<typeof bench_tasks>>;
      try {
        results = await bench_tasks({
          'raw.64B.put-getInto': () => {
            raw.putNowait(small);
            raw.getInto(target);
          },
          'raw.4KiB.put-getInto': () => {
            raw.putNowait(page);
            raw.getInto(target);
          },
          'raw.64B.put-getNowait': () => {
            raw.putNowait(small);
            raw.getNowait(); // a new Buffer per message
          },
          'raw.64x64B.putManyFrom-getManyInto': () => {
            raw.putManyFrom(batch, lens);
            raw.getManyInto(target, outLens);
          },
          'value.object.put-get': () => {
            val.putNowait(value);
            val.getNowait();
          },
        });
      } finally {
        raw.destroy();
        val.destroy();
      }
      for (const [name, r] of Object.entries(results)) {
        await recordBench(`queue.call.${name}`, r, {
          method: `one put and one get of ${name} on the same queue in this process: the cost of the Node-API crossing, the lock, the copies and (value mode) node:v8 serialisation`,
        });
      }
      expect(Object.keys(results)).toHaveLength(5);
    },
    profile().testTimeoutMs,
  );

  it('leaves no queue segment behind', () => {
    expect(listSegments().filter((s) => !segmentsBefore.has(s))).toEqual([]);
  });
});
