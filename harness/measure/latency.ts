import * as hdr from 'hdr-histogram-js';
import type { Stats } from './figure.ts';
import { injectAfter } from './slowdown.ts';
import {
  BOOTSTRAP_MAX_N,
  orderStatisticRanks,
  STATISTIC_QUANTILE,
  type Statistic,
  summarize,
} from './stats.ts';

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 };

export interface LatencyRecorderOptions {
  /** Unit the figures are reported in. Default `us`. */
  unit?: 'ns' | 'us' | 'ms' | 's';
  /** Highest value to track, in nanoseconds. Default 1 hour. */
  highestNs?: number;
  /** Significant digits kept by the HDR histogram (1-5). Default 3 (0.1% resolution). */
  digits?: number;
  /**
   * Whether `rig run --inject-slowdown` applies to what this recorder records (default true).
   * Off for recorders of the driver itself, such as send lag.
   */
  inject?: boolean;
}

/**
 * Latency on an HDR histogram (nanoseconds inside). Keeps the first few thousand raw samples
 * as well, so that small runs get bootstrap intervals; large runs get the exact
 * order-statistic interval read from the histogram.
 */
export class LatencyRecorder {
  readonly unit: 'ns' | 'us' | 'ms' | 's';
  private readonly histogram: hdr.Histogram;
  private readonly raw: number[] = [];
  private count = 0;
  private readonly inject: boolean;

  constructor(options: LatencyRecorderOptions = {}) {
    this.unit = options.unit ?? 'us';
    this.inject = options.inject ?? true;
    this.histogram = hdr.build({
      bitBucketSize: 64,
      autoResize: true,
      lowestDiscernibleValue: 1,
      highestTrackableValue: options.highestNs ?? 3_600_000_000_000,
      numberOfSignificantValueDigits: (options.digits ?? 3) as 1 | 2 | 3 | 4 | 5,
      useWebAssembly: false,
    });
  }

  /**
   * Record one latency in nanoseconds. Under `--inject-slowdown F` the operation is first made
   * slower by F of its own time (a busy-wait) and the slowed time is recorded.
   */
  record(ns: number): void {
    const slowed = this.inject ? ns + injectAfter(ns) : ns;
    const v = Math.max(1, Math.round(slowed));
    this.histogram.recordValue(v);
    if (this.raw.length < BOOTSTRAP_MAX_N) this.raw.push(v);
    this.count++;
  }

  /** Record the time since `startNs` (a `process.hrtime.bigint()` value or an intended start). */
  recordSince(startNs: bigint): void {
    this.record(Number(process.hrtime.bigint() - startNs));
  }

  /** Time one call of `fn`. */
  async time<T>(fn: () => Promise<T> | T): Promise<T> {
    const start = process.hrtime.bigint();
    try {
      return await fn();
    } finally {
      this.recordSince(start);
    }
  }

  get n(): number {
    return this.count;
  }

  /** Merge another recorder (e.g. one per worker) into this one. */
  merge(other: LatencyRecorder): void {
    this.histogram.add(other.histogram);
    for (const v of other.raw) if (this.raw.length < BOOTSTRAP_MAX_N) this.raw.push(v);
    this.count += other.count;
  }

  private toUnit(ns: number): number {
    return ns / UNIT_NS[this.unit]!;
  }

  /** Statistics in `unit`; ci95 describes `statistic`. */
  stats(statistic: Statistic = 'p50', resamples = 1000): Stats {
    if (this.count <= BOOTSTRAP_MAX_N) {
      return summarize(
        this.raw.map((v) => this.toUnit(v)),
        { statistic, resamples },
      );
    }
    const h = this.histogram;
    const at = (p: number) => this.toUnit(h.getValueAtPercentile(p));
    const base = {
      n: this.count,
      min: this.toUnit(h.minNonZeroValue),
      p50: at(50),
      p90: at(90),
      p95: at(95),
      p99: at(99),
      max: this.toUnit(h.maxValue),
      mean: this.toUnit(h.mean),
      sd: this.toUnit(h.stdDeviation),
    };
    const q = STATISTIC_QUANTILE[statistic];
    if (q !== undefined) {
      const [lo, hi] = orderStatisticRanks(this.count, q);
      return {
        ...base,
        ci95: [at((100 * (lo + 1)) / this.count), at((100 * (hi + 1)) / this.count)],
        ciMethod: 'order-statistic',
      };
    }
    const half = (1.96 * base.sd) / Math.sqrt(this.count);
    return { ...base, ci95: [base.mean - half, base.mean + half], ciMethod: 't' };
  }

  /** Percentile curve for charts: [percentile, value in unit]. */
  percentileCurve(): Array<[number, number]> {
    const points = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100];
    return points.map((p) => [p, this.toUnit(this.histogram.getValueAtPercentile(p))]);
  }

  reset(): void {
    this.histogram.reset();
    this.raw.length = 0;
    this.count = 0;
  }
}
