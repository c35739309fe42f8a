// The queue's figures that the original module reported and ours did not (issue #13): the cost of
// one put and of one get across processes (p50/p95/p99, each call timed on its own), the 64 B ..
// 1 KiB message rates the original gave as its floors (one awaited put and get per message), the
// ring's utilisation while they run, and the queue between two threads of one process against
// worker_threads postMessage between the same threads. Every message is stamped and verified.
import { describe, expect, it } from 'vitest';
import {
  LatencyRecorder,
  profile,
  progress,
  recordFigure,
  recordLatency,
  recordThroughput,
  skipAllWhen,
} from '../../harness/index.ts';
import { bench, listSegments, queueUnavailableReason } from '../../systems/queue/index.ts';
import { expectEveryMessageVerified, toThroughput, trust } from '../_helpers/queue-workload.ts';

// Off Linux every test here is skipped with the reason (systems/queue/README.md, "Platforms").
skipAllWhen(queueUnavailableReason());

const segmentsBefore = new Set(listSegments());

describe('queue parity with the original module (smoke-sized)', () => {
  it('one put and one get across processes, each call timed: p50, p95, p99', async () => {
    const count = profile().count(5_000);
    const put = await bench.queuePutLatency({ size: 64, count });
    const get = await bench.queueGetLatency({ size: 64, count });
    for (const [id, s, how] of [
      [
        'queue.put.64B',
        put,
        'a producer process times each `await q.put()` of a stamped 64 B raw message (hrtime before and after) while a drain process gets and verifies every message',
      ],
      [
        'queue.get.64B',
        get,
        'a consumer process times each `await q.get()` (a Buffer per message) from a queue a flood process filled beforehand, verifying each message after its clock stopped',
      ],
    ] as const) {
      const r = new LatencyRecorder({ unit: 'us' });
      for (const ns of s.ns) r.record(ns);
      await recordLatency(id, r, { method: `${how}; ${s.ns.length} calls`, ...trust(s.check) });
    }
    expectEveryMessageVerified('timed puts', put.check);
    expectEveryMessageVerified('timed gets', get.check);
    expect(put.ns).toHaveLength(count);
    expect(get.ns).toHaveLength(count);
  });

  for (const [label, size] of [
    ['256B', 256],
    ['1KiB', 1024],
  ] as const) {
    it(`${label} message rate, 1x1 processes, one awaited put and get per message, and ring utilisation`, async () => {
      progress(`queue parity: 1x1 awaited at ${label}`);
      const sample = await bench.queueThroughput({
        producers: 1,
        consumers: 1,
        size,
        api: 'await',
        durationMs: profile().durationMs,
        warmupMs: profile().warmupMs,
      });
      const r = toThroughput(sample);
      const method = `one flood process awaiting put() and one drain process awaiting get() of raw ${label} messages, every sequence number and checksum verified by the drain, counted per 50 ms after warm-up`;
      const valid = trust(sample.check);
      const id = `queue.throughput.1x1.${label}`;
      await recordThroughput(`${id}.rate`, r, { unit: 'msg/s', method, ...valid });
      await recordThroughput(`${id}.bytes`, r, { bytes: true, method, ...valid });
      await recordFigure({
        id: `${id}.utilisation`,
        value: sample.utilisation.mean * 100,
        unit: '%',
        better: 'lower',
        n: sample.utilisation.samples,
        method: `ring use (usedBytes / capacity of a 4 MiB ring) sampled every 50 ms while ${method}; mean over the window (max ${(sample.utilisation.max * 100).toFixed(1)}%)`,
      });
      expectEveryMessageVerified(`1x1 ${label} awaited`, sample.check);
      expect(sample.utilisation.samples).toBeGreaterThan(0);
    });
  }

  it('64 B between two threads of one process, against postMessage between the same threads', async () => {
    const window = { size: 64, durationMs: profile().durationMs, warmupMs: profile().warmupMs };
    const pm = toThroughput(await bench.postMessageThroughput(window));
    const reference = await recordThroughput('queue.ref.postmessage.threads.64B.rate', pm, {
      unit: 'msg/s',
      method:
        'worker_threads: a worker posts 64 B Uint8Arrays to the main thread (credit flow control), counted by the main thread',
    });
    const sample = await bench.queueThreadsThroughput(window);
    const method =
      'a worker thread awaits put() of stamped 64 B raw messages, the main thread of the same process awaits get() and verifies each, counted per 50 ms after warm-up';
    await recordThroughput('queue.threads.1x1.64B.rate', toThroughput(sample), {
      unit: 'msg/s',
      method,
      reference: { id: reference.id, value: reference.value },
      ...trust(sample.check),
    });
    await recordFigure({
      id: 'queue.threads.1x1.64B.utilisation',
      value: sample.utilisation.mean * 100,
      unit: '%',
      better: 'lower',
      n: sample.utilisation.samples,
      method: `ring use (usedBytes / capacity of a 4 MiB ring) sampled every 50 ms while ${method}; mean (max ${(sample.utilisation.max * 100).toFixed(1)}%)`,
    });
    expectEveryMessageVerified('threads 64B', sample.check);
  });

  it('leaves no segment behind', () => {
    expect(listSegments().filter((s) => !segmentsBefore.has(s) && /^(bench|calls|threads)-/.test(s))).toEqual(
      [],
    );
  });
});
