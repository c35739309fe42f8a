import { Bench } from 'tinybench';
import type { Figure, Stats } from '../measure/figure.ts';
import type { FigureMeta } from '../measure/helpers.ts';
import { recordFigure } from '../measure/record.ts';
import { injectAfter, injectedSlowdown } from '../measure/slowdown.ts';
import { BOOTSTRAP_MAX_N, orderStatisticRanks, quantileSorted, summarize } from '../measure/stats.ts';
import { progress } from '../run/progress.ts';

export type BenchResult =
  | {
      state: 'completed';
      /** Per-call latency statistics, ns; ci95 is the p50's (bootstrap on tinybench's samples). */
      latency: Stats;
      opsPerSec: number;
      /** Statistics over per-sample ops/s; ci95 is the mean's. */
      opsStats: Stats;
      n: number;
    }
  | { state: 'errored'; error: string };

/**
 * Micro-benchmarks through tinybench (hrtime timer, samples retained). A task that throws is a
 * result with state 'errored', not an exception that ends the other tasks.
 */
export async function microBench(
  tasks: Record<string, () => unknown | Promise<unknown>>,
  options: { timeMs?: number; warmupMs?: number } = {},
): Promise<Record<string, BenchResult>> {
  const bench = new Bench({
    time: options.timeMs ?? 500,
    warmupTime: options.warmupMs ?? 100,
    retainSamples: true,
    now: () => Number(process.hrtime.bigint()) / 1e6,
  } as ConstructorParameters<typeof Bench>[0]);
  for (const [name, fn] of Object.entries(tasks)) bench.add(name, injectedSlowdown() > 0 ? slowed(fn) : fn);
  progress(`micro-bench: ${Object.keys(tasks).join(', ')}`, true);
  await bench.run();
  const out: Record<string, BenchResult> = {};
  for (const task of bench.tasks) {
    const result = task.result;
    if (result.state === 'errored') {
      out[task.name] = { state: 'errored', error: String(result.error?.message ?? result.error) };
      continue;
    }
    if (result.state !== 'completed' && result.state !== 'aborted-with-statistics') {
      out[task.name] = { state: 'errored', error: `task ended in state ${result.state}` };
      continue;
    }
    const lat = result.latency;
    const sorted = lat.samples ?? [lat.mean];
    const n = sorted.length;
    let latency: Stats;
    if (n <= BOOTSTRAP_MAX_N) {
      latency = summarize(
        sorted.map((ms) => ms * 1e6),
        { statistic: 'p50', resamples: 400 },
      );
    } else {
      // tinybench keeps the samples sorted: read quantiles and the exact order-statistic
      // interval of the median straight from them, without copying millions of numbers.
      const [lo, hi] = orderStatisticRanks(n, 0.5);
      const ns = (ms: number) => ms * 1e6;
      latency = {
        n,
        min: ns(lat.min),
        p50: ns(quantileSorted(sorted, 0.5)),
        p90: ns(quantileSorted(sorted, 0.9)),
        p95: ns(quantileSorted(sorted, 0.95)),
        p99: ns(quantileSorted(sorted, 0.99)),
        max: ns(lat.max),
        mean: ns(lat.mean),
        sd: ns(lat.sd),
        ci95: [ns(sorted[lo]!), ns(sorted[hi]!)],
        ciMethod: 'order-statistic',
      };
    }
    const tp = result.throughput;
    const opsStats: Stats = {
      n: tp.samplesCount,
      min: tp.min,
      p50: tp.p50,
      p90: tp.samples ? quantileSorted(tp.samples, 0.9) : tp.p75,
      p95: tp.samples ? quantileSorted(tp.samples, 0.95) : tp.p99,
      p99: tp.p99,
      max: tp.max,
      mean: tp.mean,
      sd: tp.sd,
      ci95: [tp.mean - tp.moe, tp.mean + tp.moe],
      ciMethod: tp.samplesCount > 1 ? 't' : 'none',
    };
    out[task.name] = {
      state: 'completed',
      latency,
      opsPerSec: result.throughput.mean,
      opsStats,
      n: lat.samplesCount,
    };
  }
  return out;
}

/** Under `rig run --inject-slowdown F`: the task, then a busy-wait of F times its own time. */
function slowed(fn: () => unknown | Promise<unknown>): () => unknown | Promise<unknown> {
  const since = (start: bigint) => Number(process.hrtime.bigint() - start);
  if (fn.constructor.name === 'AsyncFunction') {
    return async () => {
      const start = process.hrtime.bigint();
      await fn();
      injectAfter(since(start));
    };
  }
  return () => {
    const start = process.hrtime.bigint();
    const out = fn();
    if (out instanceof Promise) return out.then(() => void injectAfter(since(start)));
    injectAfter(since(start));
    return out;
  };
}

/** `${prefix}.p50` and `.p99` (ns) and `${prefix}.throughput` (ops/s) of one micro-benchmark. */
export async function recordBench(
  prefix: string,
  result: BenchResult | undefined,
  meta: FigureMeta,
): Promise<Figure[]> {
  if (!result || result.state === 'errored') {
    const reason = result ? result.error : 'no such task';
    return [
      await recordFigure({
        id: `${prefix}.throughput`,
        value: 0,
        unit: 'ops/s',
        better: 'higher',
        n: 0,
        method: meta.method,
        valid: false,
        invalidReason: `benchmark errored: ${reason}`,
      }),
    ];
  }
  const method = `${meta.method} (tinybench, hrtime, ${result.n} samples)`;
  const extra = {
    ...(meta.labels ? { labels: meta.labels } : {}),
    ...(meta.valid === false ? { valid: false, invalidReason: meta.invalidReason ?? 'marked invalid' } : {}),
  };
  return [
    await recordFigure({
      id: `${prefix}.p50`,
      value: result.latency.p50,
      unit: 'ns',
      better: 'lower',
      n: result.n,
      stats: result.latency,
      method,
      ...extra,
    }),
    await recordFigure({
      id: `${prefix}.throughput`,
      value: result.opsPerSec,
      unit: 'ops/s',
      better: 'higher',
      n: result.n,
      stats: result.opsStats,
      method,
      ...(meta.reference ? { reference: meta.reference } : {}),
      ...extra,
    }),
  ];
}
