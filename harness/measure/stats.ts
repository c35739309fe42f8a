/**
 * Descriptive statistics and confidence intervals. All functions are unit-agnostic: the
 * caller's samples carry one unit and every statistic comes back in that unit.
 */

export interface Stats {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
  /** Sample standard deviation (n - 1). */
  sd: number;
  /** 95% confidence interval of the statistic the figure reports (see `ciMethod`). */
  ci95: [number, number];
  /** How ci95 was computed: `bootstrap` (percentile bootstrap), `order-statistic` (binomial, exact
   * for quantiles), `t` (Student t on the mean) or `none` (too few samples). */
  ciMethod: 'bootstrap' | 'order-statistic' | 't' | 'none';
}

export type Statistic = 'min' | 'p50' | 'p90' | 'p95' | 'p99' | 'max' | 'mean';

export const STATISTIC_QUANTILE: Partial<Record<Statistic, number>> = {
  p50: 0.5,
  p90: 0.9,
  p95: 0.95,
  p99: 0.99,
};

/** Quantile of sorted data, linear interpolation between closest ranks (type 7). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (n === 1) return sorted[0]!;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function meanSd(data: ArrayLike<number>): { mean: number; sd: number } {
  const n = data.length;
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < n; i++) {
    const x = data[i]!;
    const d = x - mean;
    mean += d / (i + 1);
    m2 += d * (x - mean);
  }
  return { mean, sd: n > 1 ? Math.sqrt(m2 / (n - 1)) : 0 };
}

/** Two-sided 97.5% quantile of Student's t with `df` degrees of freedom (table + normal tail). */
export function tCritical95(df: number): number {
  const table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];
  if (df <= 0) return Number.POSITIVE_INFINITY;
  if (df <= table.length) return table[df - 1]!;
  if (df < 30) return 2.042 + (2.228 - 2.042) * ((30 - df) / 20);
  if (df < 120) return 1.98 + (2.042 - 1.98) * ((120 - df) / 90);
  return 1.96;
}

/** A small seeded PRNG (mulberry32) so that confidence intervals are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bootstrap samples larger than this use the exact order-statistic interval for quantiles. */
export const BOOTSTRAP_MAX_N = 5_000;

export interface SummarizeOptions {
  /** Which statistic ci95 describes. Default `mean`. */
  statistic?: Statistic;
  resamples?: number;
  seed?: number;
}

/** Summarise raw samples. ci95 is the interval of `statistic`. */
export function summarize(samples: ArrayLike<number>, options: SummarizeOptions = {}): Stats {
  const sorted = Float64Array.from(samples as ArrayLike<number>).sort();
  const n = sorted.length;
  if (n === 0) {
    const nan = Number.NaN;
    return {
      n,
      min: nan,
      p50: nan,
      p90: nan,
      p95: nan,
      p99: nan,
      max: nan,
      mean: nan,
      sd: nan,
      ci95: [nan, nan],
      ciMethod: 'none',
    };
  }
  const { mean, sd } = meanSd(sorted);
  const base = {
    n,
    min: sorted[0]!,
    p50: quantileSorted(sorted, 0.5),
    p90: quantileSorted(sorted, 0.9),
    p95: quantileSorted(sorted, 0.95),
    p99: quantileSorted(sorted, 0.99),
    max: sorted[n - 1]!,
    mean,
    sd,
  };
  const statistic = options.statistic ?? 'mean';
  const { ci95, ciMethod } = confidenceInterval(sorted, statistic, base, options);
  return { ...base, ci95, ciMethod };
}

function confidenceInterval(
  sorted: Float64Array,
  statistic: Statistic,
  base: Omit<Stats, 'ci95' | 'ciMethod'>,
  options: SummarizeOptions,
): Pick<Stats, 'ci95' | 'ciMethod'> {
  const n = sorted.length;
  if (n < 2) return { ci95: [base[statistic], base[statistic]], ciMethod: 'none' };
  if (statistic === 'min' || statistic === 'max') {
    return { ci95: [base[statistic], base[statistic]], ciMethod: 'none' };
  }
  const q = STATISTIC_QUANTILE[statistic];
  if (q !== undefined && n > BOOTSTRAP_MAX_N)
    return { ci95: orderStatisticCi(sorted, q), ciMethod: 'order-statistic' };
  if (statistic === 'mean' && n > BOOTSTRAP_MAX_N) {
    const half = (tCritical95(n - 1) * base.sd) / Math.sqrt(n);
    return { ci95: [base.mean - half, base.mean + half], ciMethod: 't' };
  }
  return {
    ci95: bootstrapCi(sorted, statistic, options.resamples ?? 1000, options.seed ?? 0x5eed),
    ciMethod: 'bootstrap',
  };
}

/**
 * Distribution-free interval for a quantile from the binomial distribution of ranks (normal
 * approximation, valid for the large n where it is used). Works on sorted data or on any
 * accessor of the k-th smallest value, such as an HDR histogram.
 */
export function orderStatisticRanks(n: number, q: number): [number, number] {
  const half = 1.96 * Math.sqrt(n * q * (1 - q));
  const lo = Math.max(0, Math.floor(n * q - half) - 1);
  const hi = Math.min(n - 1, Math.ceil(n * q + half));
  return [lo, hi];
}

function orderStatisticCi(sorted: Float64Array, q: number): [number, number] {
  const [lo, hi] = orderStatisticRanks(sorted.length, q);
  return [sorted[lo]!, sorted[hi]!];
}

/** Percentile bootstrap: resample with replacement, recompute, take the 2.5% and 97.5% points. */
export function bootstrapCi(
  sorted: ArrayLike<number>,
  statistic: Statistic,
  resamples: number,
  seed: number,
): [number, number] {
  const n = sorted.length;
  const random = seededRandom(seed);
  const estimates = new Float64Array(resamples);
  const scratch = new Float64Array(n);
  const q = STATISTIC_QUANTILE[statistic];
  for (let r = 0; r < resamples; r++) {
    if (q === undefined) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += sorted[Math.floor(random() * n)]!;
      estimates[r] = sum / n;
    } else {
      // Drawing indices and sorting them is the same as sorting the resampled values, since
      // the source is sorted; integer sort of indices is cheaper than a value sort.
      for (let i = 0; i < n; i++) scratch[i] = Math.floor(random() * n);
      scratch.sort();
      const pos = (n - 1) * q;
      const lo = Math.floor(pos);
      const hi = Math.min(n - 1, lo + 1);
      const a = sorted[scratch[lo]!]!;
      const b = sorted[scratch[hi]!]!;
      estimates[r] = a + (b - a) * (pos - lo);
    }
  }
  estimates.sort();
  return [quantileSorted(estimates, 0.025), quantileSorted(estimates, 0.975)];
}

/** Mann–Whitney U two-sided test (normal approximation with tie correction); returns p. */
export function mannWhitneyP(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 < 2 || n2 < 2) return 1;
  const all: Array<{ v: number; g: 0 | 1 }> = [];
  for (let i = 0; i < n1; i++) all.push({ v: a[i]!, g: 0 });
  for (let i = 0; i < n2; i++) all.push({ v: b[i]!, g: 1 });
  all.sort((x, y) => x.v - y.v);
  let rankSumA = 0;
  let tieTerm = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.v === all[i]!.v) j++;
    const rank = (i + j + 2) / 2;
    const t = j - i + 1;
    tieTerm += t ** 3 - t;
    for (let k = i; k <= j; k++) if (all[k]!.g === 0) rankSumA += rank;
    i = j + 1;
  }
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const mu = (n1 * n2) / 2;
  const n = n1 + n2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  if (sigma === 0) return 1;
  const z = Math.abs(u - mu) / sigma;
  return 2 * (1 - normalCdf(z));
}

export function normalCdf(z: number): number {
  // Abramowitz–Stegun 7.1.26 on erf.
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return z >= 0 ? (1 + y) / 2 : (1 - y) / 2;
}
