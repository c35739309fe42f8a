import type { Stats } from './figure.ts';
import { injectAfter, injectedNs, injectedSlowdown } from './slowdown.ts';
import { summarize } from './stats.ts';

export interface ThroughputResult {
  count: number;
  bytes: number;
  elapsedMs: number;
  /** Operations per second over the whole window. */
  rate: number;
  /** Bytes per second over the whole window. */
  byteRate: number;
  /** Per-interval rates (ops/s), [ms since start, rate]. */
  series: Array<[number, number]>;
  /** Statistics over the per-interval rates; ci95 is the mean's. */
  stats: Stats;
}

/**
 * Counts operations (and bytes) over time in fixed intervals, so that a rate comes with its
 * spread across the window and a throughput-over-time chart.
 */
export class ThroughputMeter {
  private readonly intervalMs: number;
  private startNs = 0n;
  private stopNs: bigint | undefined;
  private count = 0;
  private bytes = 0;
  private readonly buckets: number[] = [];
  private readonly inject: boolean;
  private lastAddNs = 0n;
  private spentAtLastAdd = 0;

  /**
   * `inject` (default true): under `rig run --inject-slowdown F`, each `add` first busy-waits F
   * of the time since the previous one, so the counted work runs slower by that fraction; unless
   * something else (a LatencyRecorder timing the same operations) already slowed them.
   */
  constructor(options: { intervalMs?: number; inject?: boolean } = {}) {
    this.intervalMs = options.intervalMs ?? 100;
    this.inject = options.inject ?? true;
  }

  start(): this {
    this.startNs = process.hrtime.bigint();
    this.lastAddNs = this.startNs;
    this.spentAtLastAdd = injectedNs();
    this.stopNs = undefined;
    return this;
  }

  add(count = 1, bytes = 0): void {
    if (this.inject && injectedSlowdown() > 0) {
      if (injectedNs() === this.spentAtLastAdd) injectAfter(Number(process.hrtime.bigint() - this.lastAddNs));
      this.lastAddNs = process.hrtime.bigint();
      this.spentAtLastAdd = injectedNs();
    }
    const elapsedMs = Number(process.hrtime.bigint() - this.startNs) / 1e6;
    const bucket = Math.floor(elapsedMs / this.intervalMs);
    while (this.buckets.length <= bucket) this.buckets.push(0);
    this.buckets[bucket]! += count;
    this.count += count;
    this.bytes += bytes;
  }

  stop(): ThroughputResult {
    this.stopNs ??= process.hrtime.bigint();
    const elapsedMs = Number(this.stopNs - this.startNs) / 1e6;
    const full = Math.floor(elapsedMs / this.intervalMs);
    const buckets = Array.from({ length: full }, (_, i) => this.buckets[i] ?? 0);
    return throughputFromCounts(
      { count: this.count, bytes: this.bytes, elapsedMs, intervalMs: this.intervalMs, buckets },
      // The meter's own window already ran slowed: no stretching on top.
      { inject: false },
    );
  }
}

export interface CountedWindow {
  count: number;
  bytes: number;
  elapsedMs: number;
  /** Width of each bucket, ms. */
  intervalMs: number;
  /** Operations counted in each complete interval, in order. */
  buckets: number[];
}

/**
 * A rate from counts taken elsewhere (a child process, a worker, a native loop) in fixed
 * intervals: the same result a ThroughputMeter gives, with the spread over intervals.
 */
export function throughputFromCounts(
  counted: CountedWindow,
  options: { resamples?: number; inject?: boolean } = {},
): ThroughputResult {
  // Counts taken in another process cannot be slowed here: under --inject-slowdown F the window
  // is stretched by 1 + F instead, the rate the same work would have had at F more time per op.
  const f = options.inject === false ? 0 : injectedSlowdown();
  const w =
    f > 0
      ? { ...counted, elapsedMs: counted.elapsedMs * (1 + f), intervalMs: counted.intervalMs * (1 + f) }
      : counted;
  const perSecond = 1000 / w.intervalMs;
  const series = w.buckets.map((n, i): [number, number] => [i * w.intervalMs, n * perSecond]);
  const rate = w.elapsedMs > 0 ? (w.count * 1000) / w.elapsedMs : 0;
  const stats =
    series.length >= 2
      ? summarize(
          series.map(([, v]) => v),
          { statistic: 'mean', ...(options.resamples ? { resamples: options.resamples } : {}) },
        )
      : summarize([rate]);
  return {
    count: w.count,
    bytes: w.bytes,
    elapsedMs: w.elapsedMs,
    rate,
    byteRate: w.elapsedMs > 0 ? (w.bytes * 1000) / w.elapsedMs : 0,
    series,
    stats,
  };
}
