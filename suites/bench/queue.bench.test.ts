// The queue's benchmark matrix (bench/nightly profiles): the headline 64 B message rate with one
// awaited put and one awaited get per message (queue.throughput.1x1.64B.rate; value mode and one
// synchronous call per message beside it), read against postMessage and ZeroMQ, batched cross-process
// throughput at 1x1 and 4x4 for 64 B .. 64 KiB (the batch size in the id: ...64B.batch64.rate),
// round-trip latency with spinning and sleeping waiters, memory efficiency, and same-run
// references (worker_threads postMessage, a Unix-domain socket unframed and framed, a memcpy, and
// ZeroMQ Push/Pull and Request/Reply over ipc://, skipped with the reason where the zeromq package
// cannot load). Every message of the
// throughput and round-trip workloads carries a sequence number and checksum that its consumer
// verifies; a figure whose messages did not all arrive intact and in order is recorded invalid and
// fails its test.
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
  skipAllWhen,
  type ThroughputResult,
  useSystem,
} from '../../harness/index.ts';
import { bench, listSegments, queueSystem, queueUnavailableReason } from '../../systems/queue/index.ts';
import {
  describeWindows,
  expectEveryMessageVerified,
  type PairedWindowsOptions,
  queueVsPostMessage,
  recordQueueVsPostMessage,
  toThroughput,
  trust,
} from '../_helpers/queue-workload.ts';

// Off Linux every test here is skipped with the reason (systems/queue/README.md, "Platforms").
skipAllWhen(queueUnavailableReason());

const system = useSystem(queueSystem);
const bench_tasks = (tasks: Record<string, () => unknown>) =>
  microBench(tasks, { timeMs: profile().durationMs / 5, warmupMs: profile().warmupMs / 5 });

const ref = (f: Figure) => ({ id: f.id, value: f.value });

const window = () => ({ durationMs: profile().durationMs, warmupMs: profile().warmupMs });
/**
 * Figures judged by their ratio to postMessage: 5 windows of each, alternating, that together last
 * the profile's duration (at least 300 ms each), the warm-up before the first pair only.
 */
const pairedWindows = (): Pick<PairedWindowsOptions, 'windowMs' | 'pairs' | 'warmupMs'> => ({
  windowMs: Math.max(300, Math.round(profile().durationMs / 5)),
  pairs: 5,
  warmupMs: profile().warmupMs,
});
const HEADLINE_METHOD =
  'one flood process awaiting put() and one drain process awaiting get() of raw 64 B messages (a Buffer per get), one call per message, every sequence number and checksum verified by the drain, counted on the ring';
/** Its paired windows record it (with the headline, queue.throughput.1x1.64B.rate). */
const POSTMESSAGE_64B = 'queue.ref.postmessage.1x1.64B.rate';
const SIZES: Array<[string, number]> = [
  ['64B', 64],
  ['256B', 256],
  ['1KiB', 1024],
  ['4KiB', 4096],
  ['64KiB', 65536],
];
const segmentsBefore = new Set(listSegments());

/**
 * Reference figures per size, filled by the first test and used by the others; postMessage at 64 B
 * comes from the headline's paired windows.
 */
const refs = new Map<
  string,
  { postMessage?: Figure; uds: Figure; udsFramed: Figure; memcpy: Figure; memcpyBytes: Figure }
>();
/** ZeroMQ's figures (64B, 4KiB), filled by its test unless the package cannot load here. */
const zeromq = new Map<string, Figure>();
const zeromqMissing = await bench.zeromqUnavailableReason();
const ZEROMQ_SIZES: Array<[string, number]> = [
  ['64B', 64],
  ['4KiB', 4096],
];

/** `<id>.rate_vs_zeromq`: the same result read against ZeroMQ at that size, when it ran. */
async function recordVsZeromq(id: string, label: string, r: ThroughputResult, method: string, valid = {}) {
  const z = zeromq.get(label);
  if (!z) return;
  await recordThroughput(`${id}.rate_vs_zeromq`, r, {
    unit: 'msg/s',
    method: `${method}; the same figure read against ZeroMQ Push/Pull over ipc:// (${z.id})`,
    reference: ref(z),
    ...valid,
  });
}

describe('queue benchmarks', () => {
  it(
    'references: postMessage, Unix-domain socket and memcpy at every size',
    async () => {
      for (const [label, size] of SIZES) {
        progress(`queue bench: references at ${label}`);
        const pmId = `queue.ref.postmessage.1x1.${label}.rate`;
        const pm =
          pmId === POSTMESSAGE_64B
            ? undefined
            : toThroughput(await bench.postMessageThroughput({ size, ...window() }));
        const uds = toThroughput(await bench.udsThroughput({ size, ...window() }));
        const framedSample = await bench.udsFramedThroughput({ size, ...window() });
        expectEveryMessageVerified(`framed Unix socket ${label}`, framedSample.check);
        const framed = toThroughput(framedSample);
        const mc = toThroughput(bench.memcpyThroughput({ size, ...window() }));
        refs.set(label, {
          ...(pm
            ? {
                postMessage: await recordThroughput(pmId, pm, {
                  unit: 'msg/s',
                  method: `worker_threads: a worker posts ${label} Uint8Arrays to the main thread, credit flow control`,
                }),
              }
            : {}),
          uds: await recordThroughput(`queue.ref.uds.1x1.${label}.rate`, uds, {
            unit: 'msg/s',
            method: `a child process writes ${label} messages back to back on a Unix-domain socket, unframed; the test process counts bytes / ${size} (a byte rate, no message is decoded)`,
          }),
          udsFramed: await recordThroughput(`queue.ref.uds.framed.1x1.${label}.rate`, framed, {
            unit: 'msg/s',
            method: `a child process writes stamped ${label} messages as [u32 length][message] frames on a Unix-domain socket (packed into writes of about 64 KiB); the test process decodes every frame, verifies its sequence number and checksum, and counts messages`,
            ...trust(framedSample.check),
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

  it(
    'ZeroMQ references: Push/Pull over ipc:// at 64 B and 4 KiB, Request/Reply round trip at 64 B',
    async (ctx) => {
      if (zeromqMissing) return ctx.skip(`ZeroMQ reference skipped: ${zeromqMissing}`);
      const version = await bench.zeromqVersion();
      const checks: Array<[string, bench.StreamCheck]> = [];
      for (const [label, size] of ZEROMQ_SIZES) {
        progress(`queue bench: ZeroMQ Push/Pull at ${label}`);
        const sample = await bench.zeromqThroughput({ size, ...window() });
        checks.push([`ZeroMQ ${label}`, sample.check]);
        zeromq.set(
          label,
          await recordThroughput(`queue.ref.zeromq.1x1.${label}.rate`, toThroughput(sample), {
            unit: 'msg/s',
            method: `ZeroMQ (${version}) Push/Pull over ipc:// (socket file in a temp dir): one Push process awaiting send() of each stamped ${label} message, one Pull process receiving with for await, verifying every sequence number and checksum, counting per 50 ms after warm-up; HWM 1000`,
            ...trust(sample.check),
          }),
        );
      }
      progress('queue bench: ZeroMQ Request/Reply round trip at 64B');
      const rtt = new LatencyRecorder({ unit: 'us' });
      const count = profile().count(5_000);
      checks.push([
        'ZeroMQ round trip',
        await bench.zeromqRoundTrip({ size: 64, count, record: (ns) => rtt.record(ns) }),
      ]);
      expect(rtt.n).toBe(count);
      await recordLatency('queue.ref.zeromq.roundtrip.64B', rtt, {
        method: `ZeroMQ (${version}) Request in the test process, Reply in a child process over ipc://: await send(), await receive() of a stamped 64 B message; one sample per round trip; every reply verified`,
      });
      for (const [what, check] of checks) expectEveryMessageVerified(what, check);
    },
    profile().testTimeoutMs,
  );

  it(
    'headline: 64 B message rate, 1x1 processes, one awaited put and one awaited get per message',
    async () => {
      progress('queue bench: 1x1 throughput at 64B, await put / await get, vs postMessage');
      const run = await queueVsPostMessage({
        producers: 1,
        consumers: 1,
        size: 64,
        api: 'await',
        ...pairedWindows(),
        label: 'queue bench 1x1 64B unbatched vs postMessage',
      });
      const { queue, reference } = await recordQueueVsPostMessage(run, {
        id: 'queue.throughput.1x1.64B.rate',
        method: HEADLINE_METHOD,
        reference: {
          id: POSTMESSAGE_64B,
          method: 'worker_threads: a worker posts 64B Uint8Arrays to the main thread, credit flow control',
        },
      });
      const at64 = refs.get('64B');
      if (at64 && reference) at64.postMessage = reference;
      await recordVsZeromq('queue.throughput.1x1.64B', '64B', queue, HEADLINE_METHOD, trust(run.check));
      expect(run.batch).toBe(1);
      expectEveryMessageVerified('1x1 64B awaited', run.check);
      expect(queue.count).toBeGreaterThan(0);
    },
    profile().testTimeoutMs,
  );

  it(
    '64 B, 1x1 processes, one call per message: value mode awaited, raw sync calls',
    async () => {
      const variants = [
        [
          'queue.throughput.1x1.64B.value',
          'await-value',
          'one flood process awaiting put() and one drain process awaiting get() per 64 B Buffer in value mode (node:v8 serialisation both ways)',
        ],
        [
          'queue.throughput.1x1.64B.batch1',
          'batch',
          'one flood and one drain process moving raw 64 B messages one per synchronous Node-API call on each side (putManyFrom/getManyInto of 1)',
        ],
      ] as const;
      const verdicts: Array<[string, bench.StreamCheck]> = [];
      for (const [id, api, what] of variants) {
        progress(`queue bench: ${id}`);
        const sample = await bench.queueThroughput({
          producers: 1,
          consumers: 1,
          size: 64,
          batch: 1,
          api,
          ...window(),
        });
        const r = toThroughput(sample);
        const method = `${what}, every sequence number and checksum verified by the drain, counted per 50 ms after warm-up`;
        const pm = refs.get('64B')?.postMessage;
        await recordThroughput(`${id}.rate`, r, {
          unit: 'msg/s',
          method,
          ...(pm ? { reference: ref(pm) } : {}),
          ...trust(sample.check),
        });
        await recordVsZeromq(id, '64B', r, method, trust(sample.check));
        verdicts.push([id, sample.check]);
      }
      for (const [id, check] of verdicts) expectEveryMessageVerified(id, check);
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
        const verdicts: Array<[string, bench.StreamCheck, number]> = [];
        for (const [label, size] of SIZES) {
          progress(`queue bench: ${P}x${C} throughput at ${label}`);
          const refsAt = refs.get(label);
          const describe = (batch: number, counted: string) =>
            `${P} flood and ${C} drain processes, raw ${label} messages in batches of ${batch} per Node-API call on each side (putManyFrom/getManyInto), 4 MiB ring, every sequence number and checksum verified by the drains, ${counted}`;
          // the id names the batch that ran: 64 messages per call, fewer where 64 exceed 1 MiB
          const idOf = (batch: number) => `queue.throughput.${P}x${C}.${label}.batch${batch}`;
          let r: ThroughputResult;
          let check: bench.StreamCheck;
          let batch: number;
          let method: string;
          if (P === 4 && size === 64) {
            // judged by its ratio to postMessage: windows interleaved with postMessage windows
            const run = await queueVsPostMessage({
              producers: P,
              consumers: C,
              size,
              ...pairedWindows(),
              label: `queue bench ${P}x${C} ${label} vs postMessage`,
            });
            ({ batch, check } = run);
            method = describe(batch, `counted on the ring; ${describeWindows(run)}`);
            ({ queue: r } = await recordQueueVsPostMessage(run, {
              id: `${idOf(batch)}.rate`,
              method: describe(batch, 'counted on the ring'),
              reference: { id: POSTMESSAGE_64B },
            }));
          } else {
            const sample = await bench.queueThroughput({ producers: P, consumers: C, size, ...window() });
            r = toThroughput(sample);
            ({ batch, check } = sample);
            method = describe(batch, 'counted per 50 ms after warm-up');
            await recordThroughput(`${idOf(batch)}.rate`, r, {
              unit: 'msg/s',
              method,
              ...(refsAt?.postMessage ? { reference: ref(refsAt.postMessage) } : {}),
              ...trust(check),
            });
          }
          const id = idOf(batch);
          const valid = trust(check);
          await recordThroughput(`${id}.bytes`, r, {
            bytes: true,
            method,
            ...(refsAt ? { reference: ref(refsAt.memcpyBytes) } : {}),
            ...valid,
          });
          if (refsAt) {
            await recordThroughput(`${id}.rate_vs_uds`, r, {
              unit: 'msg/s',
              method: `${method}; the same figure read against the framed Unix-domain socket (messages decoded)`,
              reference: ref(refsAt.udsFramed),
              ...valid,
            });
          }
          if (P === 1) await recordVsZeromq(id, label, r, method, valid);
          verdicts.push([id, check, r.count]);
        }
        for (const [id, check, count] of verdicts) {
          expectEveryMessageVerified(id, check);
          expect(count, `${id}: messages in the window`).toBeGreaterThan(0);
        }
      },
      profile().testTimeoutMs,
    );
  }

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
      const verdicts: Array<[string, bench.StreamCheck]> = [];
      for (const [variant, spin, wait, count] of variants) {
        progress(`queue bench: round trip (${variant}), ${count} ping-pongs`);
        const rec = new LatencyRecorder({ unit: 'us' });
        const check = await bench.queueRoundTrip({
          size: 64,
          count,
          spin,
          wait,
          record: (ns) => rec.record(ns),
        });
        verdicts.push([`round trip ${variant}`, check]);
        expect(rec.n).toBe(count);
        await recordLatency(`queue.roundtrip.64B.${variant}`, rec, {
          method: `put on a ping queue, an echo process returns it on a pong queue; ${
            wait === 'async'
              ? 'this side awaits get() (waiter thread + threadsafe function)'
              : 'this side getIntoSync'
          }; waiters spin ${spin} iterations before the futex; one sample per round trip; every reply's sequence number and checksum verified after its sample`,
          referenceRecorder: { prefix: 'queue.ref.postmessage.roundtrip.64B', recorder: pm },
          ...trust(check),
        });
      }
      for (const [what, check] of verdicts) expectEveryMessageVerified(what, check);
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
      const api = system().api;
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
      // recorded first (an errored task's figure is written, invalid), judged after
      for (const [name, r] of Object.entries(results)) {
        expect(r.state, `queue.call.${name}: ${r.state === 'errored' ? r.error : ''}`).toBe('completed');
      }
    },
    profile().testTimeoutMs,
  );

  it('leaves no queue segment behind', () => {
    // Only this process's segments: their names carry its pid (other runs may share /dev/shm).
    const mine = (s: string) => !segmentsBefore.has(s) && s.includes(`-${process.pid}-`);
    expect(listSegments().filter(mine)).toEqual([]);
  });
});
