import { RigError } from '../errors.ts';
import { LatencyRecorder } from '../measure/latency.ts';
import { ThroughputMeter } from '../measure/throughput.ts';
import { progress } from '../run/progress.ts';
import { describeError, type LoadResult, MAX_ERROR_SAMPLES } from './types.ts';

export interface ClosedLoopOptions {
  /** Workers, each issuing its next operation when the previous one completes. */
  concurrency: number;
  /** Measured window, ms. Either this or `count`. */
  durationMs?: number;
  /** Total operations across workers. Either this or `durationMs`. */
  count?: number;
  /** Unmeasured operations before the window, ms. */
  warmupMs?: number;
  op: (i: number, worker: number) => unknown | Promise<unknown>;
  unit?: 'ns' | 'us' | 'ms' | 's';
  /** Label for progress lines. */
  label?: string;
}

/**
 * Closed model: N workers in a loop. Latency is measured per operation from its own start;
 * throughput is completions over the window. Synchronous operations are timed as well, and a
 * worker yields to the event loop every few hundred operations so timers and I/O still run.
 */
export async function closedLoop(options: ClosedLoopOptions): Promise<LoadResult> {
  const { concurrency, durationMs, count, op } = options;
  if (!(concurrency >= 1) || (durationMs === undefined && count === undefined)) {
    throw new RigError('RIG_LOAD_INVALID', 'closedLoop needs concurrency >= 1 and durationMs or count');
  }
  if (options.warmupMs && options.warmupMs > 0) {
    const until = performance.now() + options.warmupMs;
    let i = 0;
    while (performance.now() < until) {
      try {
        await op(i++, 0);
      } catch {
        // warm-up errors are not measured
      }
      if (i % 256 === 0) await yieldToLoop();
    }
  }
  const latency = new LatencyRecorder({ unit: options.unit ?? 'us' });
  const meter = new ThroughputMeter().start();
  const errorSamples: string[] = [];
  let errors = 0;
  let issued = 0;
  const deadline = durationMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + durationMs;
  const label = options.label ?? 'closed-loop';
  const worker = async (w: number) => {
    let sinceYield = 0;
    while (true) {
      if (count !== undefined && issued >= count) return;
      if (performance.now() >= deadline) return;
      const i = issued++;
      const start = process.hrtime.bigint();
      try {
        await op(i, w);
        latency.recordSince(start);
        meter.add(1);
      } catch (error) {
        errors++;
        if (errorSamples.length < MAX_ERROR_SAMPLES) errorSamples.push(describeError(error));
      }
      if (++sinceYield >= 256) {
        sinceYield = 0;
        if (w === 0) progress(`${label}: ${issued} ops, ${errors} errors`);
        await yieldToLoop();
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const throughput = meter.stop();
  const completed = latency.n;
  return {
    completed,
    errors,
    errorSamples,
    latency,
    throughput,
    achievedRate: throughput.rate,
    valid: completed > 0,
    ...(completed > 0 ? {} : { invalidReason: 'no operation completed' }),
  };
}

export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
