/**
 * Change points of one figure's history: where a series of per-run values (oldest first) steps to
 * a new level, naming the first run after the step and the size of the step. The method is
 * e-divisive means (Matteson & James 2014) as MongoDB (Daly et al. 2020) and Bencher use it, with a
 * second test against the gate's calibrated noise so that a short history can show a change.
 *
 * 1. Scale: ln(value) for `log`, the value for `linear`. A log series holding a value <= 0 is judged
 *    on `linear` without the noise (which is in ln units); its changes say `scale: 'linear'`.
 *    Non-finite entries are left out of every statistic, `minSegment` counts finite runs, indices
 *    stay those of `values`, and a change names the first finite entry after it.
 * 2. Binary segmentation in rounds: each open segment is tested once; a significant one is cut at
 *    its change and both sides are tested in the next round, an insignificant one is closed. A
 *    round tests at alpha / (segments at its start) (Bonferroni): a flat series is marked with
 *    probability at most alpha, and the null segments left beside real changes share about alpha.
 * 3. Two tests of a segment, each at half that level where the noise is known (Bonferroni again),
 *    the permutation test alone otherwise:
 *    - `noise` (first; where it is significant the permutations are skipped): the split with the
 *      largest z = |mean after - mean before| / (s sqrt(1/a + 1/b)), its two-sided normal p times
 *      the number of split positions (Bonferroni, which holds for a position chosen from the data).
 *      s is the noise, or, from MIN_POINTS_FOR_SPREAD points, the segment's own spread where that
 *      is larger: the smaller of the SD around the two sides' means (inflated by other changes in
 *      the segment) and 1.4826 median |x[i+1] - x[i]| / sqrt 2 (inflated by a step at the end),
 *      so that a noise that understates the history's spread does not mark every wiggle.
 *    - `e-divisive`: the largest Q = (a b / (a + b)) E over splits, E the energy distance (exponent
 *      1) between the a points before and the b points of a stretch after it, which may stop
 *      short of the segment's end (M&J's estimator, so that a rise that falls back is not diluted);
 *      p = (1 + #{shuffles with Q* >= Q}) / (shuffles + 1) over seeded shuffles of the segment. A
 *      test at a level k times finer than alpha draws k times as many shuffles, and it stops as
 *      soon as p cannot reach its level, so a flat segment costs a few. With four runs there are
 *      three distinct 2|2 splits, so no p under 1/3: without the noise a short history shows none.
 *    A change's pValue is its p times these factors, so a change is marked when pValue <= alpha.
 * 4. Each change is then placed again at the best split (e-divisive, to the end) of the stretch
 *    between its neighbours, which holds it alone: other changes in the segment where it was found
 *    pull a split by a run or two.
 * 5. With the noise known, a change whose step between the medians of the stretches on either side
 *    is under `minStepNoise` noise widths is dropped, the smallest first, and its neighbours placed
 *    and measured again. Without it, every significant change is marked.
 *
 * Cost: O(n^2) per scan of a segment of n runs; a test is up to a few hundred scans.
 */
import { MAD_TO_SIGMA, type Scale, studentTCdf } from '../../gate/noise.ts';
import { quantileSorted, seededRandom } from '../../measure/stats.ts';

export type { Scale };

export interface ChangePointOptions {
  /** 'log': compare ln(value) (latencies, rates: a step reads as a share); 'linear': the value itself. */
  scale: Scale;
  /**
   * Known between-run standard deviation of one run's value on `scale` (ln units for log), from the
   * gate's calibration; undefined when not calibrated. Zero, negative or non-finite: unknown.
   */
  noise?: number;
  /** Family-wise false-alarm rate per series. @default 0.01 */
  alpha?: number;
  /** Smallest segment, in finite runs, on each side of a change. @default 2 */
  minSegment?: number;
  /** Permutations for the first e-divisive test (later, finer tests draw more); seeded. @default 199 */
  permutations?: number;
  /** Smallest step marked, in units of noise: a step smaller than this many noise widths is never marked. @default 3 */
  minStepNoise?: number;
  /** Seed of the permutations: the same values, options and seed give the same changes. @default 1 */
  seed?: number;
}

export interface ChangePoint {
  /** Index in `values` of the first point AFTER the change. */
  index: number;
  /** Median of the stretch before and after, up to the neighbouring changes (in the value's unit). */
  before: number;
  after: number;
  /** after / before (log scale) or after - before (linear). */
  step: number;
  /** For log: (after/before - 1), e.g. 0.25 = 25% higher. For linear: undefined. */
  relative?: number;
  /** p-value of the test that found it, times the tests made (Bonferroni): marked means <= alpha. */
  pValue: number;
  test: 'e-divisive' | 'noise';
  /** The step in noise widths where noise is known, signed: ln(after/before) / noise, or (after - before) / noise. */
  stepNoise?: number;
  /** The scale it was judged on: the requested one, or 'linear' for a log series holding a value <= 0. */
  scale: Scale;
}

const DEFAULTS = { alpha: 0.01, minSegment: 2, permutations: 199, minStepNoise: 3, seed: 1 } as const;

/** Segments shorter than this are judged against the noise alone, without their own spread. */
export const MIN_POINTS_FOR_SPREAD = 6;

/** Median of the finite entries of `values`; NaN when there are none. */
export function median(values: ArrayLike<number>): number {
  const finite = Array.from(values).filter(Number.isFinite);
  return quantileSorted(
    finite.sort((a, b) => a - b),
    0.5,
  );
}

/** The best split of one segment by the e-divisive statistic. */
export interface EnergySplit {
  /** Points before the split: the change is at `at`. */
  at: number;
  /** End (exclusive) of the stretch after the split that it was compared with. */
  end: number;
  q: number;
}

/**
 * The largest e-divisive statistic Q(at, end) of `y`: the `at` points before the split against
 * the points [at, end), each at least `minSegment` long (`toEnd`: end is y's length). O(n^2) with
 * `table` ((n + 1)^2 entries, reusable): P(i, j) = sum over u < i, v < j of |y_u - y_v|, so that
 * every within and cross sum is a difference of table entries.
 */
export function energySplit(
  y: ArrayLike<number>,
  minSegment: number,
  { toEnd = false, table = new Float64Array((y.length + 1) ** 2) } = {},
): EnergySplit {
  const n = y.length;
  const w = n + 1;
  for (let i = 0; i < n; i++) {
    const yi = y[i]!;
    let row = 0;
    for (let j = 0; j < n; j++) {
      row += Math.abs(yi - y[j]!);
      table[(i + 1) * w + j + 1] = table[i * w + j + 1]! + row;
    }
  }
  // 1 / (k (k - 1)): the pairs within a stretch of k (none for k = 1); 1 / k.
  const perPair = new Float64Array(n + 1);
  const per = new Float64Array(n + 1);
  for (let k = 1; k <= n; k++) {
    perPair[k] = k > 1 ? 1 / (k * (k - 1)) : 0;
    per[k] = 1 / k;
  }
  const best: EnergySplit = { at: -1, end: -1, q: Number.NEGATIVE_INFINITY };
  for (let at = minSegment; at <= n - minSegment; at++) {
    const before = table[at * w + at]!;
    const withinBefore = before * perPair[at]!;
    for (let end = toEnd ? n : at + minSegment; end <= n; end++) {
      const upTo = table[at * w + end]!;
      const b = end - at;
      const withinAfter = (table[end * w + end]! - 2 * upTo + before) * perPair[b]!;
      // Q = (a b / (a + b)) (2 cross / (a b) - within before - within after), cross = upTo - before.
      const q = (2 * (upTo - before) - at * b * (withinBefore + withinAfter)) * per[end]!;
      if (q > best.q) {
        best.at = at;
        best.end = end;
        best.q = q;
      }
    }
  }
  return best;
}

interface Resolved {
  alpha: number;
  minSegment: number;
  permutations: number;
  minStepNoise: number;
  seed: number;
  noise: number | undefined;
}

interface Split {
  /** Index into the finite points of the first point after the change. */
  at: number;
  pValue: number;
  test: ChangePoint['test'];
}

/**
 * The split of x[s, e) with the largest mean shift against the noise (see the header), and its
 * two-sided normal p times the number of positions.
 */
function noiseSplit(x: Float64Array, s: number, e: number, noise: number, minSegment: number) {
  const n = e - s;
  const own = n >= MIN_POINTS_FOR_SPREAD;
  // Centred on the segment's mean, so that the sums of squares keep their precision.
  let centre = 0;
  for (let i = s; i < e; i++) centre += x[i]! / n;
  let total = 0;
  let totalSquares = 0;
  for (let i = s; i < e; i++) {
    total += x[i]! - centre;
    totalSquares += (x[i]! - centre) ** 2;
  }
  let jumpSpread = 0;
  if (own) {
    const jumps = Array.from({ length: n - 1 }, (_, i) => Math.abs(x[s + i + 1]! - x[s + i]!));
    jumpSpread = (MAD_TO_SIGMA * median(jumps)) / Math.SQRT2;
  }
  let sum = 0;
  let squares = 0;
  const best = { at: -1, z: -1 };
  for (let a = 1; a <= n - minSegment; a++) {
    const d = x[s + a - 1]! - centre;
    sum += d;
    squares += d * d;
    if (a < minSegment) continue;
    const b = n - a;
    const shift = (total - sum) / b - sum / a;
    // SD around the two sides' means: a spread the split's own step does not inflate.
    const within = squares - (sum * sum) / a + (totalSquares - squares) - ((total - sum) * (total - sum)) / b;
    const pooled = own ? Math.sqrt(Math.max(0, within) / (n - 2)) : 0;
    const sd = Math.max(noise, Math.min(jumpSpread, pooled));
    const z = Math.abs(shift) / (sd * Math.sqrt(1 / a + 1 / b));
    if (z > best.z) {
      best.at = s + a;
      best.z = z;
    }
  }
  const positions = n - 2 * minSegment + 1;
  return { at: best.at, p: Math.min(1, positions * 2 * studentTCdf(-best.z, Number.POSITIVE_INFINITY)) };
}

/**
 * The best e-divisive split of x[s, e) and its permutation p, or undefined where p is above
 * `level` (known as soon as more shuffles reach its Q than the level allows).
 */
function permutationSplit(x: Float64Array, s: number, e: number, level: number, r: Resolved) {
  const shuffles = Math.ceil((r.permutations + 1) * (r.alpha / level) - 1e-9) - 1;
  const allowed = Math.floor(level * (shuffles + 1) + 1e-9) - 1;
  if (r.permutations < 1 || allowed < 0) return undefined;
  const y = x.slice(s, e);
  const table = new Float64Array((y.length + 1) ** 2);
  const observed = energySplit(y, r.minSegment, { table });
  // A shuffle that reproduces the observed split ties it up to rounding: it counts as reaching it.
  const bar = observed.q - 1e-9 * Math.abs(observed.q);
  const random = seededRandom((r.seed ^ Math.imul(s + 1, 0x9e3779b1) ^ Math.imul(e + 1, 0x85ebca6b)) >>> 0);
  let reached = 0;
  for (let k = 0; k < shuffles; k++) {
    for (let i = y.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const t = y[i]!;
      y[i] = y[j]!;
      y[j] = t;
    }
    if (energySplit(y, r.minSegment, { table }).q >= bar && ++reached > allowed) return undefined;
  }
  return { at: s + observed.at, p: (1 + reached) / (shuffles + 1) };
}

/** The change in x[s, e) at family-wise `level`, by the noise test first, then the permutations. */
function testSegment(x: Float64Array, s: number, e: number, level: number, r: Resolved): Split | undefined {
  if (e - s < 2 * r.minSegment) return undefined;
  const tests = r.noise === undefined ? 1 : 2;
  const factor = (tests * r.alpha) / level;
  if (r.noise !== undefined) {
    const split = noiseSplit(x, s, e, r.noise, r.minSegment);
    if (split.p <= level / tests) {
      return { at: split.at, pValue: Math.min(1, factor * split.p), test: 'noise' };
    }
  }
  const split = permutationSplit(x, s, e, level / tests, r);
  if (!split) return undefined;
  return { at: split.at, pValue: Math.min(1, factor * split.p), test: 'e-divisive' };
}

/** Binary segmentation in rounds (header, 2): the significant splits, sorted. */
function segment(x: Float64Array, r: Resolved): Split[] {
  const splits: Split[] = [];
  let open: Array<[number, number]> = [[0, x.length]];
  while (open.length > 0) {
    const level = r.alpha / (splits.length + 1);
    const next: Array<[number, number]> = [];
    for (const [s, e] of open) {
      const found = testSegment(x, s, e, level, r);
      if (!found) continue;
      splits.push(found);
      next.push([s, found.at], [found.at, e]);
    }
    open = next;
  }
  return splits.sort((a, b) => a.at - b.at);
}

/** Places each split again at the best split of the stretch between its neighbours (header, 4). */
function place(x: Float64Array, splits: Split[], minSegment: number): void {
  for (let pass = 0; pass < 10; pass++) {
    let moved = false;
    splits.forEach((split, k) => {
      const s = splits[k - 1]?.at ?? 0;
      const e = splits[k + 1]?.at ?? x.length;
      const at = s + energySplit(x.subarray(s, e), minSegment, { toEnd: true }).at;
      if (at !== split.at) {
        split.at = at;
        moved = true;
      }
    });
    if (!moved) return;
  }
}

/**
 * Change points of `values` (one figure over runs, oldest first), sorted by index. `noise` is on
 * `scale` (ln units for log). See the header for the method.
 */
export function detectChangePoints(values: number[], options: ChangePointOptions): ChangePoint[] {
  const finite: number[] = [];
  values.forEach((v, i) => {
    if (Number.isFinite(v)) finite.push(i);
  });
  const scale: Scale = options.scale === 'log' && finite.every((i) => values[i]! > 0) ? 'log' : 'linear';
  const noise = options.noise;
  const r: Resolved = {
    alpha: options.alpha ?? DEFAULTS.alpha,
    minSegment: Math.max(1, Math.floor(options.minSegment ?? DEFAULTS.minSegment)),
    permutations: Math.max(0, Math.floor(options.permutations ?? DEFAULTS.permutations)),
    minStepNoise: options.minStepNoise ?? DEFAULTS.minStepNoise,
    seed: options.seed ?? DEFAULTS.seed,
    noise:
      scale === options.scale && noise !== undefined && noise > 0 && noise < Infinity ? noise : undefined,
  };
  const raw = finite.map((i) => values[i]!);
  const x = Float64Array.from(raw, (v) => (scale === 'log' ? Math.log(v) : v));
  const splits = segment(x, r);

  const describe = (): ChangePoint[] =>
    splits.map((split, k) => {
      const before = median(raw.slice(splits[k - 1]?.at ?? 0, split.at));
      const after = median(raw.slice(split.at, splits[k + 1]?.at ?? raw.length));
      const change: ChangePoint = {
        index: finite[split.at]!,
        before,
        after,
        step: scale === 'log' ? after / before : after - before,
        pValue: split.pValue,
        test: split.test,
        scale,
      };
      if (scale === 'log') change.relative = after / before - 1;
      if (r.noise !== undefined) {
        change.stepNoise = (scale === 'log' ? Math.log(after / before) : after - before) / r.noise;
      }
      return change;
    });

  for (;;) {
    place(x, splits, r.minSegment);
    const changes = describe();
    const size = (c: ChangePoint) => Math.abs(c.stepNoise ?? Number.POSITIVE_INFINITY);
    let smallest = -1;
    changes.forEach((c, k) => {
      if (size(c) < r.minStepNoise && (smallest < 0 || size(c) < size(changes[smallest]!))) smallest = k;
    });
    if (smallest < 0) return changes;
    splits.splice(smallest, 1);
  }
}
