import { describe, expect, it } from 'vitest';
import { measureTimer, TIMER_PAIRS, timeBatches, timerCostNs } from './timer.ts';

describe('timer cost', () => {
  it('is the median of back-to-back hrtime pairs, measured once per process', () => {
    const first = measureTimer();
    expect(first.pairsNs).toHaveLength(TIMER_PAIRS);
    expect(first.costNs).toBeGreaterThan(0);
    // Reading the clock takes well under a millisecond on any machine rig runs on.
    expect(first.costNs).toBeLessThan(1e6);
    const sorted = Array.from(first.pairsNs).sort((a, b) => a - b);
    expect(sorted.filter((v) => v <= first.costNs).length).toBeGreaterThanOrEqual(TIMER_PAIRS / 2);
    expect(sorted.filter((v) => v >= first.costNs).length).toBeGreaterThanOrEqual(TIMER_PAIRS / 2);
    expect(measureTimer()).toBe(first);
    expect(timerCostNs()).toBe(first.costNs);
  });

  it('times fast operations in batches, one amortised sample per batch', () => {
    let calls = 0;
    const samples = timeBatches(
      () => {
        calls++;
        return calls;
      },
      { batch: 256, ms: 20 },
    );
    expect(samples.length).toBeGreaterThan(0);
    expect(calls).toBe(256 * samples.length);
    // An increment costs far less than a clock read: amortised, it reads well below one.
    const sorted = [...samples].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]!).toBeLessThan(timerCostNs());
  });
});
