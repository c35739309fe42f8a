import { describe, expect, it } from 'vitest';
import {
  bootstrapCi,
  mannWhitneyP,
  orderStatisticRanks,
  quantileSorted,
  seededRandom,
  summarize,
} from './stats.ts';

function normalSample(n: number, mean: number, sd: number, seed: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const u = 1 - random();
    const v = random();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  });
}

describe('statistics', () => {
  it('interpolates quantiles between closest ranks', () => {
    const sorted = [1, 2, 3, 4, 5];
    expect(quantileSorted(sorted, 0)).toBe(1);
    expect(quantileSorted(sorted, 0.5)).toBe(3);
    expect(quantileSorted(sorted, 1)).toBe(5);
    expect(quantileSorted(sorted, 0.25)).toBe(2);
    expect(quantileSorted([7], 0.99)).toBe(7);
    expect(Number.isNaN(quantileSorted([], 0.5))).toBe(true);
  });

  it('summarises a known sample exactly', () => {
    const s = summarize([4, 1, 3, 2, 5]);
    expect(s).toMatchObject({ n: 5, min: 1, max: 5, p50: 3, mean: 3 });
    expect(s.sd).toBeCloseTo(Math.sqrt(2.5), 10);
  });

  it('bootstrap intervals cover the true mean and median of a normal population', () => {
    let coveredMean = 0;
    let coveredMedian = 0;
    const trials = 40;
    for (let t = 0; t < trials; t++) {
      const sample = normalSample(200, 100, 15, 1000 + t);
      const mean = summarize(sample, { statistic: 'mean', resamples: 300, seed: t });
      const median = summarize(sample, { statistic: 'p50', resamples: 300, seed: t });
      if (mean.ci95[0] <= 100 && 100 <= mean.ci95[1]) coveredMean++;
      if (median.ci95[0] <= 100 && 100 <= median.ci95[1]) coveredMedian++;
      expect(mean.ciMethod).toBe('bootstrap');
    }
    // Nominal 95%: with 40 trials, fewer than 32 covered would be a broken interval (p < 0.001).
    expect(coveredMean).toBeGreaterThanOrEqual(32);
    expect(coveredMedian).toBeGreaterThanOrEqual(32);
  });

  it('uses exact order-statistic intervals for quantiles of large samples', () => {
    const sample = normalSample(20_000, 0, 1, 7);
    const s = summarize(sample, { statistic: 'p99' });
    expect(s.ciMethod).toBe('order-statistic');
    expect(s.ci95[0]).toBeLessThanOrEqual(s.p99);
    expect(s.ci95[1]).toBeGreaterThanOrEqual(s.p99);
    // the true 99th percentile of N(0,1) is 2.326
    expect(s.ci95[0]).toBeLessThan(2.326 + 0.15);
    expect(s.ci95[1]).toBeGreaterThan(2.326 - 0.15);
    const [lo, hi] = orderStatisticRanks(20_000, 0.99);
    expect(lo).toBeLessThan(19_800);
    expect(hi).toBeGreaterThan(19_800);
  });

  it('bootstrap is reproducible for a seed', () => {
    const sorted = normalSample(100, 5, 1, 3).sort((a, b) => a - b);
    expect(bootstrapCi(sorted, 'p95', 200, 42)).toEqual(bootstrapCi(sorted, 'p95', 200, 42));
  });

  it('Mann-Whitney separates shifted samples and not equal ones', () => {
    const a = normalSample(100, 10, 1, 1);
    const b = normalSample(100, 11, 1, 2);
    const c = normalSample(100, 10, 1, 3);
    expect(mannWhitneyP(a, b)).toBeLessThan(0.001);
    expect(mannWhitneyP(a, c)).toBeGreaterThan(0.01);
  });
});
