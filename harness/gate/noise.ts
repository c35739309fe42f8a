/**
 * The gate's noise model: between-run spread measured by calibration (A/A runs of one commit),
 * a prediction test of one new run against it, and a family-wise false-alarm rate held across
 * every figure a run judges (Holm).
 *
 * A figure is compared on one of two scales:
 * - `log`: ln(value). Positive figures that scale (latencies, rates): a change reads as a share.
 * - `linear`: the value itself. Signed values and values near zero (growth, overheads, counts):
 *   a change reads as an absolute difference in the figure's unit.
 */

import { unitInfo } from '../measure/units.ts';

export type Scale = 'log' | 'linear';

/** Normal-consistency constant of the MAD: 1 / Φ⁻¹(3/4). */
export const MAD_TO_SIGMA = 1.4826;

/** The smallest log spread a calibrated figure is judged with (0.5%): a floor for perfectly stable figures. */
export const LOG_SPREAD_FLOOR = 0.005;

/**
 * The floor for timings and rates (time, ops/s, B/s units): 5%. No timing on a shared machine is
 * steadier than that from run to run, whatever a few calibration runs showed: here a timer read
 * measured 31 ns in 6 runs and 40 ns in the next, and an amortised get 2.5 ns in 4 runs and 4.5 ns
 * in the fifth (quantised and bimodal values). Counts, percentages and ratios keep LOG_SPREAD_FLOOR.
 */
export const TIMING_SPREAD_FLOOR = 0.05;

const timingUnit = (unit: string): boolean => {
  try {
    const d = unitInfo(unit).dimension;
    return d === 'time' || d === 'rate' || d === 'byte-rate' || d === 'memory-rate';
  } catch {
    return false;
  }
};

/** Linear figures: the floor is this share of |centre|, and never below the unit's resolution. */
export const LINEAR_SPREAD_FLOOR_SHARE = 0.05;

/** The smallest difference that means anything in a unit, for linear-scale figures near zero. */
const UNIT_RESOLUTION: Record<string, number> = {
  ns: 10,
  us: 0.1,
  µs: 0.1,
  ms: 0.01,
  s: 1e-5,
  B: 65_536,
  KiB: 64,
  MiB: 0.5,
  GiB: 0.0005,
  '%': 0.5,
};

export function unitResolution(unit: string): number {
  return UNIT_RESOLUTION[unit] ?? 1;
}

const median = (sorted: number[]): number => {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
};

/**
 * The scale a figure's calibrated values are compared on: linear when the figure says so, when a
 * value is zero or negative, or when the values straddle so much that a share means nothing
 * (the spread is larger than the centre); log otherwise.
 */
export function chooseScale(values: number[], declared?: Scale): Scale {
  if (declared) return declared;
  if (values.some((v) => !(v > 0))) return 'linear';
  const sorted = [...values].sort((a, b) => a - b);
  const c = median(sorted);
  const mad = median(sorted.map((v) => Math.abs(v - c)).sort((a, b) => a - b));
  return MAD_TO_SIGMA * mad > c ? 'linear' : 'log';
}

export const transform = (x: number, scale: Scale): number => (scale === 'log' ? Math.log(x) : x);

export interface Calibrated {
  scale: Scale;
  /** The median over runs, in the figure's unit. */
  centre: number;
  /** Between-run standard deviation on the scale (ln units for log, the figure's unit for linear). */
  spread: number;
  runs: number;
}

/**
 * Centre and between-run spread of one figure over calibration runs. The spread is the larger
 * of the sample SD and 1.4826 x MAD of the transformed values: the SD is what Student's t
 * assumes, the MAD guards against a run of near-identical values hiding a wild one.
 */
export function calibrate(values: number[], declared?: Scale): Calibrated {
  const scale = chooseScale(values, declared);
  const t = values.map((v) => transform(v, scale));
  const n = t.length;
  const sorted = [...values].sort((a, b) => a - b);
  const centre = median(sorted);
  if (n < 2) return { scale, centre, spread: Number.NaN, runs: n };
  const mean = t.reduce((s, x) => s + x, 0) / n;
  const sd = Math.sqrt(t.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  const tc = transform(centre, scale);
  const mad = median(t.map((x) => Math.abs(x - tc)).sort((a, b) => a - b));
  return { scale, centre, spread: Math.max(sd, MAD_TO_SIGMA * mad), runs: n };
}

/** The spread the gate uses: the calibrated one, never below the floor of its scale. */
export function effectiveSpread(c: Pick<Calibrated, 'scale' | 'centre' | 'spread'>, unit: string): number {
  if (c.scale === 'log') return Math.max(c.spread, timingUnit(unit) ? TIMING_SPREAD_FLOOR : LOG_SPREAD_FLOOR);
  return Math.max(c.spread, LINEAR_SPREAD_FLOOR_SHARE * Math.abs(c.centre), unitResolution(unit));
}

/**
 * Scale of one new run's difference from the centre, in spreads: a new value varies with the
 * spread, the median of `runs` values with about sqrt(pi / 2 runs) of it.
 */
export const predictionFactor = (runs: number): number => Math.sqrt(1 + Math.PI / (2 * runs));

// ---------------------------------------------------------------------------------------------
// Distributions

/** ln Γ(x), Lanczos approximation (g = 7, 9 terms), |error| < 1e-13 for x > 0. */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the regularised incomplete beta function (modified Lentz). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let num = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    num = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-14) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(x, a, b)) / a
    : 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** P(T <= t) for Student's t with `df` degrees of freedom (df = Infinity: the normal, as df 1e7). */
export function studentTCdf(t: number, df: number): number {
  const nu = Number.isFinite(df) ? df : 1e7;
  const tail = 0.5 * incompleteBeta(nu / (nu + t * t), nu / 2, 0.5);
  return t < 0 ? tail : 1 - tail;
}

/** The t (or normal) quantile whose upper tail is `p`, found by bisection on the CDF. */
export function upperQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 0.5)) return p >= 0.5 ? 0 : Number.POSITIVE_INFINITY;
  let lo = 0;
  let hi = 1;
  while (1 - studentTCdf(hi, df) > p && hi < 1e8) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-9 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (1 - studentTCdf(mid, df) > p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

// ---------------------------------------------------------------------------------------------
// The test

export interface NoiseTest {
  /** (new - centre) on the scale, signed so that positive is better. */
  delta: number;
  /** delta in units of the prediction spread. */
  z: number;
  /** One-sided p of a change at least this bad if nothing changed. */
  pWorse: number;
  /** One-sided p of a change at least this good if nothing changed. */
  pBetter: number;
  /** Degrees of freedom of the spread estimate (runs - 1). */
  df: number;
  /** Prediction spread on the scale: effective spread x prediction factor. */
  scaleSd: number;
}

export function noiseTest(
  now: number,
  c: Calibrated,
  better: 'higher' | 'lower',
  unit: string,
): NoiseTest | undefined {
  if (c.scale === 'log' && !(now > 0)) return undefined;
  const raw = transform(now, c.scale) - transform(c.centre, c.scale);
  const delta = better === 'higher' ? raw : -raw;
  const scaleSd = effectiveSpread(c, unit) * predictionFactor(c.runs);
  const df = Math.max(1, c.runs - 1);
  const z = delta / scaleSd;
  return { delta, z, pWorse: studentTCdf(z, df), pBetter: 1 - studentTCdf(z, df), df, scaleSd };
}

/**
 * Holm's step-down over one-sided p values: which hypotheses are rejected at family-wise level
 * `alpha`. Controls the chance of any false alarm in the family under any dependence.
 */
export function holmRejects(pValues: number[], alpha: number): boolean[] {
  const order = pValues.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const m = pValues.length;
  const rejected = new Array<boolean>(m).fill(false);
  for (let k = 0; k < m; k++) {
    const { p, i } = order[k]!;
    if (p > alpha / (m - k)) break;
    rejected[i] = true;
  }
  return rejected;
}

/**
 * The critical value one figure must beat when it is the only change among m judged figures
 * (Holm's first step, the Bonferroni bound α/m), on t with `df` degrees of freedom.
 */
export function criticalZ(alpha: number, m: number, df: number): number {
  return upperQuantile(alpha / Math.max(1, m), df);
}

/**
 * Minimum detectable effect: the smallest change the gate can flag for this figure, as a share of
 * its centre for log-scale figures (exp(k s) - 1) or in the figure's unit for linear ones (k s).
 */
export function minimumDetectableEffect(k: number, scaleSd: number, scale: Scale): number {
  return scale === 'log' ? Math.expm1(k * scaleSd) : k * scaleSd;
}

/**
 * The factor by which a spread estimated with `df` degrees of freedom may understate the true one,
 * at 95% confidence: sqrt(df / chi2_{0.05, df}), the chi-square quantile by Wilson and Hilferty's
 * cube-root approximation (within 3% of the exact value for df >= 2).
 */
export function spreadUpperFactor(df: number): number {
  const z = -1.6449;
  const a = 2 / (9 * df);
  const chi2 = df * Math.max(1e-6, 1 - a + z * Math.sqrt(a)) ** 3;
  return Math.sqrt(df / chi2);
}
