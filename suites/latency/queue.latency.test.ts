// Smoke-sized queue figures: cross-process 64 B throughput (one awaited put and one awaited get per
// message, like the bench headline queue.throughput.1x1.64B.rate) and round-trip latency (spinning
// and sleeping waiters), each with worker_threads postMessage measured in the same run as reference,
// and ZeroMQ (Push/Pull, Request/Reply over ipc://) where the zeromq package loads (skipped with the
// reason where it does not).
// The throughput and its reference run in interleaved windows (5 pairs), and the ratio carries a
// bootstrap interval over the pairs. Every message's sequence number and checksum is verified by its
// consumer; a figure over lost, corrupted or reordered messages is recorded invalid and fails its test.
// Ids are queue.smoke.*, so that they never mix with the bench matrix (the bench profile runs both).
import { describe, expect, it } from 'vitest';
import {
  type Figure,
  LatencyRecorder,
  profile,
  recordLatency,
  recordThroughput,
  skipAllWhen,
} from '../../harness/index.ts';
import { bench, listSegments, queueUnavailableReason } from '../../systems/queue/index.ts';
import {
  expectEveryMessageVerified,
  queueVsPostMessage,
  recordQueueVsPostMessage,
  toThroughput,
  trust,
} from '../_helpers/queue-workload.ts';

// Off Linux every test here is skipped with the reason (systems/queue/README.md, "Platforms").
skipAllWhen(queueUnavailableReason());

const segmentsBefore = new Set(listSegments());
const SMOKE_METHOD =
  'one flood process awaiting put() and one drain process awaiting get() of raw 64 B messages, one call per message, every sequence number and checksum verified by the drain, counted on the ring';
const zeromqMissing = await bench.zeromqUnavailableReason();
let zeromq64: Figure | undefined;

describe('queue latency (smoke)', () => {
  it('ZeroMQ reference: Push/Pull 64 B rate and Request/Reply round trip over ipc://', async (ctx) => {
    if (zeromqMissing) return ctx.skip(`ZeroMQ reference skipped: ${zeromqMissing}`);
    const version = await bench.zeromqVersion();
    const sample = await bench.zeromqThroughput({
      size: 64,
      durationMs: profile().durationMs,
      warmupMs: profile().warmupMs,
    });
    zeromq64 = await recordThroughput('queue.smoke.ref.zeromq.1x1.64B.rate', toThroughput(sample), {
      unit: 'msg/s',
      method: `ZeroMQ (${version}) Push/Pull over ipc://: one Push process awaiting send() of each stamped 64 B message, one Pull process receiving with for await and verifying every sequence number and checksum, counted per 50 ms after warm-up`,
      ...trust(sample.check),
    });
    const rtt = new LatencyRecorder({ unit: 'us' });
    const count = profile().count(2_000);
    const check = await bench.zeromqRoundTrip({ size: 64, count, record: (ns) => rtt.record(ns) });
    await recordLatency('queue.smoke.ref.zeromq.roundtrip.64B', rtt, {
      method: `ZeroMQ (${version}) Request here, Reply in a child process over ipc://, 64 B stamped messages; one sample per round trip; every reply verified`,
    });
    expectEveryMessageVerified('ZeroMQ 64B', sample.check);
    expectEveryMessageVerified('ZeroMQ round trip', check);
  });

  it('64 B throughput, 1 producer process x 1 consumer process, one awaited put and get per message, vs postMessage', async () => {
    const run = await queueVsPostMessage({
      producers: 1,
      consumers: 1,
      size: 64,
      api: 'await',
      // short windows: five pairs add about 3 s to the smoke run
      windowMs: 250,
      pairs: 5,
      warmupMs: profile().warmupMs,
      label: 'queue smoke 1x1 64B vs postMessage',
    });
    const { queue } = await recordQueueVsPostMessage(run, {
      id: 'queue.smoke.throughput.1x1.64B.rate',
      method: SMOKE_METHOD,
      reference: {
        id: 'queue.smoke.ref.postmessage.1x1.64B.rate',
        method:
          'worker_threads: a worker posts 64 B Uint8Arrays to the main thread (credit flow control), messages counted by the main thread',
      },
    });
    if (zeromq64) {
      await recordThroughput('queue.smoke.throughput.1x1.64B.rate_vs_zeromq', queue, {
        unit: 'msg/s',
        method: `${SMOKE_METHOD}; the same figure read against ZeroMQ Push/Pull (${zeromq64.id})`,
        reference: { id: zeromq64.id, value: zeromq64.value },
        ...trust(run.check),
      });
    }
    expect(run.batch).toBe(1);
    expectEveryMessageVerified('1x1 64B', run.check);
    expect(queue.count).toBeGreaterThan(0);
  });

  it('64 B round trip, spinning and sleeping waiters, vs postMessage', async () => {
    const count = profile().count(2_000);
    const ref = new LatencyRecorder({ unit: 'us' });
    await bench.postMessageRoundTrip({
      size: 64,
      count: profile().count(2_000),
      record: (ns) => ref.record(ns),
    });
    await recordLatency('queue.smoke.ref.postmessage.roundtrip.64B', ref, {
      method: 'main thread posts 64 B to a worker that posts it back; one sample per round trip',
    });
    const verdicts: Array<[string, bench.StreamCheck]> = [];
    for (const [variant, spin] of [
      ['spin', 1_000_000],
      ['sleep', 0],
    ] as const) {
      const rec = new LatencyRecorder({ unit: 'us' });
      const check = await bench.queueRoundTrip({ size: 64, count, spin, record: (ns) => rec.record(ns) });
      verdicts.push([`round trip ${variant}`, check]);
      expect(rec.n).toBe(count);
      await recordLatency(`queue.smoke.roundtrip.64B.${variant}`, rec, {
        method: `put on a ping queue, an echo process returns it on a pong queue; both waiters ${
          spin ? `spin up to ${spin} iterations` : 'sleep on the futex at once'
        }; one sample per round trip; every reply's sequence number and checksum verified after its sample`,
        referenceRecorder: { prefix: 'queue.smoke.ref.postmessage.roundtrip.64B', recorder: ref },
        ...trust(check),
      });
    }
    for (const [what, check] of verdicts) expectEveryMessageVerified(what, check);
  });

  it('leaves no queue segment behind', () => {
    // Only this process's segments: their names carry its pid (other runs may share /dev/shm).
    const mine = (s: string) => !segmentsBefore.has(s) && s.includes(`-${process.pid}-`);
    expect(listSegments().filter(mine)).toEqual([]);
  });
});
