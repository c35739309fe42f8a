/** A measured window: messages counted per bucket after the warm-up (the suite turns it into a figure). */
export interface RateSample {
  /** Messages in the window. */
  count: number;
  /** Payload bytes in the window. */
  bytes: number;
  elapsedMs: number;
  bucketMs: number;
  /** Messages per bucket, in order, warm-up and the ragged last bucket dropped. */
  buckets: number[];
}

export interface RateOptions {
  /** Message size in bytes. */
  size: number;
  durationMs: number;
  warmupMs: number;
  bucketMs?: number;
}

/** Counts into fixed buckets of the monotonic clock; the first warmupMs and the last bucket are dropped. */
export class BucketCounter {
  private readonly buckets: number[] = [];
  private readonly startNs = process.hrtime.bigint();
  private readonly bucketNs: bigint;

  constructor(
    private readonly bucketMs: number,
    private readonly warmupMs: number,
  ) {
    this.bucketNs = BigInt(bucketMs) * 1_000_000n;
  }

  add(n: number): void {
    const b = Number((process.hrtime.bigint() - this.startNs) / this.bucketNs);
    while (this.buckets.length <= b) this.buckets.push(0);
    this.buckets[b]! += n;
  }

  elapsedMs(): number {
    return Number(process.hrtime.bigint() - this.startNs) / 1e6;
  }

  result(size: number): RateSample {
    return fromBuckets(this.buckets, this.bucketMs, this.warmupMs, size);
  }
}

export function fromBuckets(all: number[], bucketMs: number, warmupMs: number, size: number): RateSample {
  const skip = Math.ceil(warmupMs / bucketMs);
  const buckets = all.slice(skip, Math.max(skip, all.length - 1));
  const count = buckets.reduce((a, b) => a + b, 0);
  return { count, bytes: count * size, elapsedMs: buckets.length * bucketMs, bucketMs, buckets };
}

/**
 * Buckets counted by other processes, each from its own start on the shared monotonic clock, merged
 * onto this process's clock (startNs) and cut to the warm-up plus the window.
 */
export function mergePeerBuckets(
  parts: ReadonlyArray<{ startNs: string; buckets: readonly number[] }>,
  startNs: bigint,
  o: { bucketMs: number; warmupMs: number; durationMs: number; size: number },
): RateSample {
  const merged: number[] = [];
  for (const part of parts) {
    const offset = Number((BigInt(part.startNs) - startNs) / BigInt(o.bucketMs * 1_000_000));
    part.buckets.forEach((n, i) => {
      const at = offset + i;
      if (at < 0) return;
      while (merged.length <= at) merged.push(0);
      merged[at]! += n;
    });
  }
  const windowBuckets = Math.max(1, Math.round(o.durationMs / o.bucketMs));
  const skip = Math.ceil(o.warmupMs / o.bucketMs);
  return fromBuckets(merged.slice(0, skip + windowBuckets + 1), o.bucketMs, o.warmupMs, o.size);
}

/** Ring use sampled over a window (usedBytes / capacity, 0..1). */
export interface UseSummary {
  mean: number;
  max: number;
  samples: number;
}

export function summariseUse(use: readonly number[]): UseSummary {
  return {
    mean: use.length ? use.reduce((a, b) => a + b, 0) / use.length : 0,
    max: use.length ? Math.max(...use) : 0,
    samples: use.length,
  };
}

/** One counted window of a workload that runs in windows (paired with a reference's windows). */
export interface WindowSample {
  /** Messages counted in the window. */
  count: number;
  /** Payload bytes counted in the window. */
  bytes: number;
  elapsedMs: number;
}
