import { RigError } from '../errors.ts';
import { progress } from '../run/progress.ts';
import type { Stats } from './figure.ts';
import { quantileSorted, seededRandom, summarize } from './stats.ts';

export interface InterleavedOptions {
  /** Windows of each side; at least 5, so that the pairs give an interval. */
  windows: number;
  /** Measure one window of A (the figure) and return its value. */
  a: (window: number) => Promise<number> | number;
  /** Measure one window of B (the same-run reference) and return its value. */
  b: (window: number) => Promise<number> | number;
  label?: string;
}

export interface Interleaved {
  a: number[];
  b: number[];
}

/** Windows are paired A/B; pairs alternate their order (AB BA AB ...) so neither side always goes first. */
export async function interleaved(options: InterleavedOptions): Promise<Interleaved> {
  if (!(Number.isInteger(options.windows) && options.windows >= 5)) {
    throw new RigError(
      'RIG_LOAD_INVALID',
      `interleaved windows must be an integer >= 5 (got ${options.windows}): an interval needs at least 5 pairs`,
    );
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let w = 0; w < options.windows; w++) {
    progress(`${options.label ?? 'interleaved'}: pair ${w + 1}/${options.windows}`);
    if (w % 2 === 0) {
      a.push(await options.a(w));
      b.push(await options.b(w));
    } else {
      b.push(await options.b(w));
      a.push(await options.a(w));
    }
  }
  return { a, b };
}

export interface PairedResult {
  /** The estimate: median over pairs. */
  value: number;
  /** Percentile bootstrap interval of the median, resampling pairs. */
  ci95: [number, number];
  /** Number of pairs. */
  n: number;
  /** One value per pair (a ratio or a difference). */
  perPair: number[];
  /** Statistics over the per-pair values; ci95 is the median's (bootstrap over pairs). */
  stats: Stats;
}

function checkPairs(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length || a.length === 0) {
    throw new RigError(
      'RIG_LOAD_INVALID',
      `paired statistics need equal, non-empty samples (got ${a.length} and ${b.length})`,
    );
  }
}

function medianBootstrap(values: number[], resamples: number, seed: number): [number, number] {
  const n = values.length;
  if (n < 2) return [values[0]!, values[0]!];
  const random = seededRandom(seed);
  const estimates = new Float64Array(resamples);
  const scratch = new Float64Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) scratch[i] = values[Math.floor(random() * n)]!;
    scratch.sort();
    estimates[r] = quantileSorted(scratch, 0.5);
  }
  estimates.sort();
  return [quantileSorted(estimates, 0.025), quantileSorted(estimates, 0.975)];
}

function paired(perPair: number[], options: { resamples?: number; seed?: number }): PairedResult {
  const stats = summarize(perPair, { statistic: 'p50', resamples: options.resamples ?? 2000 });
  const ci95 = medianBootstrap(perPair, options.resamples ?? 2000, options.seed ?? 0x9a1e);
  return {
    value: stats.p50,
    ci95,
    n: perPair.length,
    perPair,
    stats: { ...stats, ci95, ciMethod: perPair.length >= 2 ? 'bootstrap' : 'none' },
  };
}

/** a_i / b_i for each pair: the median ratio with its bootstrap interval over pairs. */
export function pairedRatio(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: { resamples?: number; seed?: number } = {},
): PairedResult {
  checkPairs(a, b);
  const perPair = Array.from({ length: a.length }, (_, i) => (b[i] === 0 ? Number.NaN : a[i]! / b[i]!));
  if (perPair.some((x) => !Number.isFinite(x))) {
    throw new RigError('RIG_LOAD_INVALID', 'a paired ratio needs non-zero reference values');
  }
  return paired(perPair, options);
}

/** a_i - b_i for each pair: the median difference with its bootstrap interval over pairs. */
export function pairedDifference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: { resamples?: number; seed?: number } = {},
): PairedResult {
  checkPairs(a, b);
  return paired(
    Array.from({ length: a.length }, (_, i) => a[i]! - b[i]!),
    options,
  );
}
