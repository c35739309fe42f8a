import type { Stats } from './figure.ts';
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

  constructor(options: { intervalMs?: number } = {}) {
    this.intervalMs = options.intervalMs ?? 100;
  }

  start(): this {
    this.startNs = process.hrtime.bigint();
    this.stopNs = undefined;
    return this;
  }

  add(count = 1, bytes = 0): void {
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
    const perSecond = 1000 / this.intervalMs;
    const series: Array<[number, number]> = [];
    for (let i = 0; i < full; i++) series.push([i * this.intervalMs, (this.buckets[i] ?? 0) * perSecond]);
    const rate = elapsedMs > 0 ? (this.count * 1000) / elapsedMs : 0;
    const stats = series.length >= 2 ? summarize(series.map(([, v]) => v)) : summarize([rate]);
    return {
      count: this.count,
      bytes: this.bytes,
      elapsedMs,
      rate,
      byteRate: elapsedMs > 0 ? (this.bytes * 1000) / elapsedMs : 0,
      series,
      stats,
    };
  }
}
