import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../measure/stats.ts';
import { type ChangePointOptions, detectChangePoints, energySplit, median } from './changepoint.ts';

const SEEDS = Array.from({ length: 200 }, (_, i) => i + 1);

/**
 * `n` runs of a figure around 100 with log-normal noise of `sd` (ln units); `steps` multiply the
 * level from their index on.
 */
function history(n: number, sd: number, seed: number, steps: Array<[index: number, factor: number]> = []) {
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const gauss = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const level = steps.reduce((l, [at, factor]) => (i >= at ? l * factor : l), 100);
    return level * Math.exp(sd * gauss);
  });
}

const indices = (values: number[], options: ChangePointOptions) =>
  detectChangePoints(values, options).map((c) => c.index);

describe('change points of a figure history', () => {
  it('marks at most 3% of flat 40-run series at alpha 0.01, with the noise known and without', () => {
    for (const noise of [undefined, 0.05]) {
      const marked = SEEDS.filter(
        (seed) => indices(history(40, 0.05, seed), { scale: 'log', noise }).length > 0,
      );
      expect(marked.length / SEEDS.length).toBeLessThanOrEqual(0.03);
    }
  });

  it('does not mark flat series whose spread the noise understates by half', () => {
    // The segment's own spread takes over from the noise (from MIN_POINTS_FOR_SPREAD runs on).
    const marked = SEEDS.filter(
      (seed) => indices(history(40, 0.1, seed), { scale: 'log', noise: 0.05, minSegment: 1 }).length > 0,
    );
    expect(marked.length / SEEDS.length).toBeLessThanOrEqual(0.03);
  });

  it('finds a 25% step at its index, 25% high, with the noise known and without', () => {
    // 25% is 4.5 noise widths: a run next to the step lands nearer the other level with probability
    // Φ(-2.23) = 1.3%, and the step is then genuinely one run earlier or later (about 3% of series,
    // either side). So: exact in at least 94% of series, never more than one run off, and a second
    // (false) change in at most 3% of them.
    for (const noise of [undefined, 0.05]) {
      const found = SEEDS.slice(0, 100).map((seed) =>
        detectChangePoints(history(30, 0.05, seed, [[17, 1.25]]), { scale: 'log', noise }),
      );
      const nearest = found.map((changes) => changes.find((c) => Math.abs(c.index - 17) <= 1));
      expect(nearest.every((c) => c !== undefined)).toBe(true);
      expect(nearest.filter((c) => c?.index === 17).length).toBeGreaterThanOrEqual(94);
      expect(found.filter((changes) => changes.length > 1).length).toBeLessThanOrEqual(3);
      const exact = nearest.filter((c) => c?.index === 17);
      // The medians of 17 and 13 runs: the step's standard error is about 0.03.
      expect(exact.every((c) => Math.abs(c!.relative! - 0.25) < 0.12)).toBe(true);
      expect(exact.every((c) => c!.test === (noise ? 'noise' : 'e-divisive') && c!.pValue <= 0.01)).toBe(
        true,
      );
      if (noise) expect(exact.every((c) => Math.abs(c!.stepNoise! - Math.log(1.25) / 0.05) < 2)).toBe(true);
    }
  });

  it('finds both steps of a rise and a fall back', () => {
    for (const noise of [undefined, 0.05]) {
      const found = SEEDS.slice(0, 20).map((seed) =>
        detectChangePoints(
          history(45, 0.05, seed, [
            [15, 1.3],
            [30, 1 / 1.3],
          ]),
          { scale: 'log', noise },
        ),
      );
      expect(found.every((changes) => changes.map((c) => c.index).join() === '15,30')).toBe(true);
      expect(found.every(([up, down]) => up!.relative! > 0.2 && down!.relative! < -0.15)).toBe(true);
    }
  });

  it('finds three steps without the noise: later rounds, at finer levels, draw more shuffles', () => {
    const steps: Array<[number, number]> = [
      [20, 1.3],
      [40, 1.3],
      [60, 1 / 1.3],
    ];
    for (const seed of SEEDS.slice(0, 5)) {
      const changes = detectChangePoints(history(80, 0.05, seed, steps), { scale: 'log' });
      expect(changes.map((c) => c.index)).toEqual([20, 40, 60]);
      expect(changes.every((c) => c.test === 'e-divisive' && c.pValue <= 0.01)).toBe(true);
    }
  });

  it('marks a step of a short history many noise widths large, by the noise test only', () => {
    const [change, ...rest] = detectChangePoints([100, 101, 150, 149], { scale: 'log', noise: 0.05 });
    expect(rest).toEqual([]);
    expect(change).toMatchObject({ index: 2, before: 100.5, after: 149.5, test: 'noise', scale: 'log' });
    expect(change!.relative).toBeCloseTo(149.5 / 100.5 - 1, 10);
    expect(change!.stepNoise).toBeCloseTo(Math.log(149.5 / 100.5) / 0.05, 10);
    expect(change!.pValue).toBeLessThan(1e-6);
    // Without the noise only the permutations can judge it, and 4 runs have 3 distinct 2|2 splits:
    // no p-value under 1/3.
    expect(detectChangePoints([100, 101, 150, 149], { scale: 'log' })).toEqual([]);
    // One run on each side, where the caller allows it.
    expect(indices([100, 150], { scale: 'log', noise: 0.05, minSegment: 1 })).toEqual([1]);
    expect(indices([100, 150], { scale: 'log', noise: 0.05 })).toEqual([]);
    // The newest run alone, where the caller allows one-run segments.
    const newest = history(40, 0.05, 3);
    newest[39] = 150;
    const [latest, ...others] = detectChangePoints(newest, { scale: 'log', noise: 0.05, minSegment: 1 });
    expect(others).toEqual([]);
    expect(latest).toMatchObject({ index: 39, after: 150, test: 'noise' });
    // 0.5% is 0.1 noise widths.
    expect(indices([100, 100.5, 101, 101.5], { scale: 'log', noise: 0.05 })).toEqual([]);
  });

  it('never marks a step under minStepNoise noise widths, however many runs show it', () => {
    // 1.5 noise widths over 60 runs a side: overwhelmingly significant, too small to mark.
    const values = history(120, 0.05, 7, [[60, Math.exp(1.5 * 0.05)]]);
    expect(indices(values, { scale: 'log', noise: 0.05 })).toEqual([]);
    // The filter is what keeps it off: below it, and without the noise, it is marked (a step of 1.5
    // noise widths is placed within a few runs, not exactly).
    for (const options of [{ noise: 0.05, minStepNoise: 1 }, {}]) {
      const [change, ...rest] = detectChangePoints(values, { scale: 'log', ...options });
      expect(rest).toEqual([]);
      expect(Math.abs(change!.index - 60)).toBeLessThanOrEqual(3);
    }
  });

  it('judges a linear figure on differences', () => {
    const random = seededRandom(3);
    const values = Array.from({ length: 24 }, (_, i) => (i < 12 ? 2 : 7) + (random() - 0.5));
    for (const noise of [undefined, 0.3]) {
      const [change, ...rest] = detectChangePoints(values, { scale: 'linear', noise });
      expect(rest).toEqual([]);
      expect(change).toMatchObject({ index: 12, scale: 'linear' });
      expect(change!.relative).toBeUndefined();
      expect(change!.step).toBeCloseTo(5, 0);
      expect(change!.step).toBeCloseTo(change!.after - change!.before, 12);
    }
  });

  it('judges a log series holding a value <= 0 on the linear scale, without the noise', () => {
    const values = [0, 1, 0, 1, 0, 50, 51, 50, 52, 50, 51, 50];
    const [change] = detectChangePoints(values, { scale: 'log', noise: 0.05 });
    expect(change).toMatchObject({ index: 5, scale: 'linear', test: 'e-divisive', step: 50 });
    expect(change!.relative).toBeUndefined();
    expect(change!.stepNoise).toBeUndefined();
  });

  it('marks nothing in a constant series, nor in one too short to split', () => {
    for (const noise of [undefined, 0.05]) {
      for (const scale of ['log', 'linear'] as const) {
        expect(detectChangePoints(new Array(30).fill(42), { scale, noise })).toEqual([]);
        expect(detectChangePoints([], { scale, noise })).toEqual([]);
        expect(detectChangePoints([42], { scale, noise, minSegment: 1 })).toEqual([]);
        expect(detectChangePoints([42, 42], { scale, noise, minSegment: 1 })).toEqual([]);
        expect(detectChangePoints([100, 150], { scale, noise })).toEqual([]);
      }
    }
    expect(energySplit([42, 42, 42, 42], 2)).toEqual({ at: 2, end: 4, q: 0 });
  });

  it('leaves non-finite entries out and keeps the indices of the values', () => {
    const values = history(30, 0.05, 11, [[17, 1.25]]);
    const clean = detectChangePoints(values, { scale: 'log', noise: 0.05 });
    expect(clean.map((c) => c.index)).toEqual([17]);
    const holed = [...values];
    holed[3] = Number.NaN;
    holed[16] = Number.POSITIVE_INFINITY;
    holed[20] = Number.NaN;
    expect(indices(holed, { scale: 'log', noise: 0.05 })).toEqual([17]);
    // A hole where the change is: the change names the first finite run after it.
    holed[17] = Number.NaN;
    expect(indices(holed, { scale: 'log', noise: 0.05 })).toEqual([18]);
    expect(detectChangePoints([Number.NaN, Number.NaN, Number.NaN], { scale: 'log' })).toEqual([]);
  });

  it('gives the same answer for the same input and seed', () => {
    const values = history(60, 0.05, 5, [
      [20, 1.2],
      [41, 0.85],
    ]);
    const once = detectChangePoints(values, { scale: 'log', seed: 9 });
    expect(once.map((c) => c.index)).toEqual([20, 41]);
    expect(detectChangePoints(values, { scale: 'log', seed: 9 })).toEqual(once);
    expect(detectChangePoints([...values], { scale: 'log', seed: 9, permutations: 199 })).toEqual(once);
  });

  it('takes the median of the finite entries', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([Number.NaN, 5, Number.POSITIVE_INFINITY, 1])).toBe(3);
    expect(Number.isNaN(median([]))).toBe(true);
  });
});
