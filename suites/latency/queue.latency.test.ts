// Smoke-sized queue figures: cross-process 64 B throughput (one put and one get call per message,
// like the bench headline queue.throughput.1x1.64B.rate) and round-trip latency (spinning and
// sleeping waiters), each with worker_threads postMessage measured in the same run as reference.
// The throughput and its reference run in interleaved windows (5 pairs), and the ratio carries a
// bootstrap interval over the pairs. Every message's sequence number and checksum is verified by its
// consumer; a figure over lost, corrupted or reordered messages is recorded invalid and fails its test.
// Ids are queue.smoke.*, so that they never mix with the bench matrix (the bench profile runs both).
import { describe, expect, it } from 'vitest';
import { LatencyRecorder, profile, recordLatency } from '../../harness/index.ts';
import { bench, listSegments } from '../../systems/queue/index.ts';
import {
  expectEveryMessageVerified,
  queueVsPostMessage,
  recordQueueVsPostMessage,
  trust,
} from '../_helpers/queue-workload.ts';

const segmentsBefore = new Set(listSegments());

describe('queue latency (smoke)', () => {
  it('64 B throughput, 1 producer process x 1 consumer process, one call per message, vs postMessage', async () => {
    const run = await queueVsPostMessage({
      producers: 1,
      consumers: 1,
      size: 64,
      batch: 1,
      // short windows: five pairs add about 3 s to the smoke run
      windowMs: 250,
      pairs: 5,
      warmupMs: profile().warmupMs,
      label: 'queue smoke 1x1 64B vs postMessage',
    });
    const { queue } = await recordQueueVsPostMessage(run, {
      id: 'queue.smoke.throughput.1x1.64B.rate',
      method:
        'one flood process puts 64 B raw messages and one drain process gets them, one Node-API call per message on each side, every sequence number and checksum verified by the drain, counted on the ring',
      reference: {
        id: 'queue.smoke.ref.postmessage.1x1.64B.rate',
        method:
          'worker_threads: a worker posts 64 B Uint8Arrays to the main thread (credit flow control), messages counted by the main thread',
      },
    });
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
