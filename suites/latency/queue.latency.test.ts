// Smoke-sized queue figures: cross-process 64 B throughput (one put and one get call per message,
// like the bench headline queue.throughput.1x1.64B.rate) and round-trip latency (spinning and
// sleeping waiters), each with worker_threads postMessage measured in the same run as reference.
// Every message's sequence number and checksum is verified by its consumer; a figure over lost,
// corrupted or reordered messages is recorded invalid and fails its test.
// Ids are queue.smoke.*, so that they never mix with the bench matrix (the bench profile runs both).
import { describe, expect, it } from 'vitest';
import {
  LatencyRecorder,
  profile,
  recordLatency,
  recordThroughput,
  type ThroughputResult,
  throughputFromCounts,
} from '../../harness/index.ts';
import { bench, listSegments } from '../../systems/queue/index.ts';

/** The queue's bench counts in its own processes; the harness turns the counts into a rate. */
function toThroughput(s: bench.RateSample): ThroughputResult {
  return throughputFromCounts(
    { count: s.count, bytes: s.bytes, elapsedMs: s.elapsedMs, intervalMs: s.bucketMs, buckets: s.buckets },
    { resamples: profile().resamples },
  );
}

const window = () => ({ durationMs: profile().durationMs, warmupMs: profile().warmupMs });

/** A figure over messages that were lost, corrupted or reordered is recorded, but invalid. */
function trust(check: bench.StreamCheck) {
  const failure = bench.checkFailure(check);
  return failure ? { valid: false, invalidReason: failure } : {};
}

/** After the figures are recorded: every message sent arrived, intact and in order. */
function expectEveryMessageVerified(what: string, check: bench.StreamCheck) {
  expect(check.mismatches, `${what}: ${bench.describeCheck(check)}`).toBe(0);
  expect(check.received, `${what}: messages received = sent (${bench.describeCheck(check)})`).toBe(
    check.sent,
  );
  expect(check.sent, `${what}: messages sent`).toBeGreaterThan(0);
}

const segmentsBefore = new Set(listSegments());

describe('queue latency (smoke)', () => {
  it('64 B throughput, 1 producer process x 1 consumer process, one call per message, vs postMessage', async () => {
    const ref = toThroughput(await bench.postMessageThroughput({ size: 64, ...window() }));
    const refFigure = await recordThroughput('queue.smoke.ref.postmessage.1x1.64B.rate', ref, {
      unit: 'msg/s',
      method:
        'worker_threads: a worker posts 64 B Uint8Arrays to the main thread (credit flow control), messages counted per 50 ms',
    });
    const sample = await bench.queueThroughput({
      producers: 1,
      consumers: 1,
      size: 64,
      batch: 1,
      ...window(),
    });
    const q = toThroughput(sample);
    await recordThroughput('queue.smoke.throughput.1x1.64B.rate', q, {
      unit: 'msg/s',
      method:
        'one flood process puts 64 B raw messages and one drain process gets them, one Node-API call per message on each side, every sequence number and checksum verified by the drain, counted per 50 ms after warm-up',
      reference: { id: refFigure.id, value: refFigure.value },
      ...trust(sample.check),
    });
    expect(sample.batch).toBe(1);
    expectEveryMessageVerified('1x1 64B', sample.check);
    expect(q.count).toBeGreaterThan(0);
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
    expect(listSegments().filter((s) => !segmentsBefore.has(s))).toEqual([]);
  });
});
