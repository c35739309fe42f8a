// Queue soak (the profile's soakMs: 3 s in smoke, 10 min nightly): one flood and one drain process
// awaiting put()/get() of stamped 64 B messages for the whole window. Records the throughput drift
// (last tenth of the window against the first), the peers' RSS growth, and checks that no
// shared-memory segment is left behind and every message arrived intact and in order.
import { describe, expect, it } from 'vitest';
import { profile, progress, recordFigure, recordThroughput, skipAllWhen } from '../../harness/index.ts';
import { bench, listSegments, queueUnavailableReason } from '../../systems/queue/index.ts';
import { expectEveryMessageVerified, toThroughput, trust } from '../_helpers/queue-workload.ts';

// Off Linux every test here is skipped with the reason (systems/queue/README.md, "Platforms").
skipAllWhen(queueUnavailableReason());

/** This process's bench segments (other suites may create and remove theirs meanwhile). */
const mine = () => listSegments().filter((n) => n.startsWith(`bench-${process.pid}-`)).length;
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

describe('queue soak', () => {
  it('awaited 1x1 64 B for the profile soak window: drift, RSS growth, no segment left', async () => {
    const before = mine();
    const soakMs = profile().soakMs;
    progress(`queue soak: ${Math.round(soakMs / 1000)} s of awaited 1x1 64 B`);
    const sample = await bench.queueThroughput({
      producers: 1,
      consumers: 1,
      size: 64,
      api: 'await',
      durationMs: soakMs,
      warmupMs: profile().warmupMs,
      bucketMs: 100,
    });
    const valid = trust(sample.check);
    const tenth = Math.max(1, Math.floor(sample.buckets.length / 10));
    const first = mean(sample.buckets.slice(0, tenth));
    const last = mean(sample.buckets.slice(-tenth));
    const method = `one flood and one drain process awaiting put()/get() of stamped 64 B raw messages for ${soakMs} ms after ${profile().warmupMs} ms warm-up, every message verified, counted per 100 ms`;
    await recordThroughput('queue.soak.1x1.64B.rate', toThroughput(sample), {
      unit: 'msg/s',
      method,
      ...valid,
    });
    await recordFigure({
      id: 'queue.soak.drift',
      value: first > 0 ? (last / first - 1) * 100 : 0,
      unit: '%',
      better: 'higher',
      n: sample.buckets.length,
      method: `mean rate of the last tenth of the soak (${tenth} buckets of 100 ms) against the first tenth, in % (negative: slower at the end); ${method}`,
      ...valid,
    });
    const growth = sample.rss.end.reduce((a, e, i) => a + (e - (sample.rss.start[i] ?? e)), 0);
    await recordFigure({
      id: 'queue.soak.rss.growth',
      value: growth,
      unit: 'B',
      better: 'lower',
      n: sample.rss.end.length,
      method: `sum over the flood and drain processes of VmRSS at the end of the soak minus at its start (after warm-up): ${sample.rss.start.join(', ')} -> ${sample.rss.end.join(', ')} B`,
    });
    const after = mine();
    await recordFigure({
      id: 'queue.soak.segments.delta',
      value: after - before,
      unit: 'segments',
      better: 'lower',
      n: 1,
      method: "/dev/shm segments of this process's bench queues after the soak minus before it",
    });
    expectEveryMessageVerified('soak', sample.check);
    expect(sample.rss.start.every((b) => b > 0)).toBe(true);
    expect(after).toBe(before);
  });
});
