import { afterEach, describe, expect, it } from 'vitest';
import { interleaved, pairedDifference, pairedRatio } from './interleave.ts';
import { LatencyRecorder } from './latency.ts';
import { injectAfter, injectedSlowdown, resetInjectedSlowdown } from './slowdown.ts';
import { ThroughputMeter, throughputFromCounts } from './throughput.ts';

describe('interleaved windows', () => {
  it('alternates the order of each pair so neither side always goes first', async () => {
    const order: string[] = [];
    const r = await interleaved({
      windows: 6,
      a: (w) => {
        order.push(`a${w}`);
        return 10 + w;
      },
      b: (w) => {
        order.push(`b${w}`);
        return 5;
      },
    });
    expect(order).toEqual(['a0', 'b0', 'b1', 'a1', 'a2', 'b2', 'b3', 'a3', 'a4', 'b4', 'b5', 'a5']);
    expect(r.a).toEqual([10, 11, 12, 13, 14, 15]);
    await expect(interleaved({ windows: 4, a: () => 1, b: () => 1 })).rejects.toThrow(/at least 5 pairs/);
  });

  it('gives the median ratio and difference with a bootstrap interval over the pairs', () => {
    const a = [100, 104, 98, 250, 101, 99, 103];
    const b = [50, 51, 49, 50, 50, 50, 52];
    const ratio = pairedRatio(a, b);
    expect(ratio.value).toBeCloseTo(2.0, 1);
    expect(ratio.n).toBe(7);
    expect(ratio.ci95[0]).toBeLessThanOrEqual(ratio.value);
    expect(ratio.ci95[1]).toBeGreaterThanOrEqual(ratio.value);
    // One wild window moves a median-of-pairs little.
    expect(ratio.ci95[1]).toBeLessThan(3);
    const diff = pairedDifference(a, b);
    expect(diff.value).toBe(51);
    expect(() => pairedRatio([1, 2], [1])).toThrow(/equal, non-empty/);
  });
});

describe('--inject-slowdown', () => {
  afterEach(() => {
    delete process.env.RIG_INJECT_SLOWDOWN;
    resetInjectedSlowdown();
  });

  it('is off unless RIG_INJECT_SLOWDOWN is set', () => {
    expect(injectedSlowdown()).toBe(0);
    expect(injectAfter(1e6)).toBe(0);
  });

  it('busy-waits the fraction of each operation and records the slowed time', () => {
    process.env.RIG_INJECT_SLOWDOWN = '0.5';
    resetInjectedSlowdown();
    const start = process.hrtime.bigint();
    const extra = injectAfter(2e6);
    expect(extra).toBeGreaterThanOrEqual(1e6);
    expect(Number(process.hrtime.bigint() - start)).toBeGreaterThanOrEqual(1e6);
    const rec = new LatencyRecorder({ unit: 'us' });
    rec.record(2e6);
    expect(rec.stats('p50').p50).toBeGreaterThanOrEqual(3000 * 0.99);
    const driver = new LatencyRecorder({ unit: 'us', inject: false });
    driver.record(2e6);
    expect(driver.stats('p50').p50).toBeLessThan(2000 * 1.01);
  });

  it('stretches windows counted in other processes and slows counted work here', () => {
    process.env.RIG_INJECT_SLOWDOWN = '0.25';
    resetInjectedSlowdown();
    const counted = throughputFromCounts({
      count: 1000,
      bytes: 0,
      elapsedMs: 1000,
      intervalMs: 100,
      buckets: Array(10).fill(100),
    });
    expect(counted.rate).toBeCloseTo(800, 6);
    const meter = new ThroughputMeter({ intervalMs: 10 }).start();
    const until = performance.now() + 50;
    let ops = 0;
    while (performance.now() < until) {
      const t = performance.now() + 1;
      while (performance.now() < t) {
        // one 1 ms operation
      }
      meter.add(1);
      ops++;
    }
    // 1 ms operations slowed by 25%: at most 50 / 1.25 = 40 of them fit in 50 ms.
    expect(ops).toBeLessThanOrEqual(41);
  });
});
