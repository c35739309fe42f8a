import { describe, expect, it } from 'vitest';
import {
  calibrate,
  chooseScale,
  criticalZ,
  holmRejects,
  incompleteBeta,
  minimumDetectableEffect,
  noiseTest,
  studentTCdf,
  upperQuantile,
} from './noise.ts';

describe('gate noise model', () => {
  it('computes Student t and normal tails to table accuracy', () => {
    expect(studentTCdf(2.776, 4)).toBeCloseTo(0.975, 4);
    expect(studentTCdf(-2.776, 4)).toBeCloseTo(0.025, 4);
    expect(studentTCdf(1.96, Number.POSITIVE_INFINITY)).toBeCloseTo(0.975, 4);
    expect(upperQuantile(0.025, 4)).toBeCloseTo(2.776, 2);
    expect(upperQuantile(0.005, 9)).toBeCloseTo(3.25, 2);
    // The far normal tail the gate uses with hundreds of figures: Φ⁻¹(1 - 1e-9) = 5.998.
    expect(upperQuantile(1e-9, Number.POSITIVE_INFINITY)).toBeCloseTo(5.998, 2);
    expect(incompleteBeta(0.5, 2, 2)).toBeCloseTo(0.5, 10);
  });

  it('takes the log scale for positive values and the linear scale for signed or near-zero ones', () => {
    expect(chooseScale([10, 11, 9.5])).toBe('log');
    expect(chooseScale([-1.25, 10.4, 3])).toBe('linear');
    expect(chooseScale([0, 1, 0])).toBe('linear');
    expect(chooseScale([5, 6], 'linear')).toBe('linear');
  });

  it('measures the spread as the larger of the SD and the scaled MAD, so one wild run is not hidden', () => {
    const steady = calibrate([100, 101, 99, 100, 102]);
    expect(steady.centre).toBe(100);
    expect(steady.spread).toBeGreaterThan(0.005);
    expect(steady.spread).toBeLessThan(0.02);
    // Four equal runs and a wild one: the MAD is 0, the SD is not.
    const wild = calibrate([8, 8, 8, 8, 68]);
    expect(wild.spread).toBeGreaterThan(0.9);
  });

  it('holds the family-wise rate with Holm: the smallest p must beat alpha / m', () => {
    expect(holmRejects([0.001, 0.5, 0.004], 0.01)).toEqual([true, false, true]);
    expect(holmRejects([0.004, 0.004, 0.004], 0.01)).toEqual([false, false, false]);
    expect(criticalZ(0.01, 1, Number.POSITIVE_INFINITY)).toBeCloseTo(2.326, 2);
    // More figures or fewer runs demand a larger change.
    expect(criticalZ(0.01, 300, 4)).toBeGreaterThan(criticalZ(0.01, 300, 9));
    expect(criticalZ(0.01, 300, 9)).toBeGreaterThan(criticalZ(0.01, 10, 9));
  });

  it('signs a change so that positive is better, on each scale', () => {
    const lat = { scale: 'log' as const, centre: 100, spread: 0.05, runs: 5 };
    expect(noiseTest(150, lat, 'lower', 'us')!.delta).toBeLessThan(0);
    expect(noiseTest(150, lat, 'higher', 'msg/s')!.delta).toBeGreaterThan(0);
    const growth = { scale: 'linear' as const, centre: 0, spread: 2, runs: 5 };
    const t = noiseTest(10.4, growth, 'lower', 'MiB')!;
    expect(t.delta).toBeCloseTo(-10.4, 6);
    expect(t.pWorse).toBeLessThan(0.01);
    expect(minimumDetectableEffect(5, 0.02, 'log')).toBeCloseTo(Math.expm1(0.1), 6);
    expect(minimumDetectableEffect(5, 2, 'linear')).toBe(10);
  });
});
