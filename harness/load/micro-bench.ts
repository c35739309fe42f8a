import { Bench } from 'tinybench';
import type { Figure, Stats } from '../measure/figure.ts';
import type { FigureMeta } from '../measure/helpers.ts';
import { recordFigure } from '../measure/record.ts';
import { summarize } from '../measure/stats.ts';
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
  for (const [name, fn] of Object.entries(tasks)) bench.add(name, fn);
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
    const samplesMs = result.latency.samples ?? [result.latency.mean];
    const latency = summarize(
      samplesMs.map((ms) => ms * 1e6),
      { statistic: 'p50', resamples: 400 },
    );
    const opsSamples = result.throughput.samples ?? [result.throughput.mean];
    const opsStats = summarize(opsSamples, { statistic: 'mean', resamples: 400 });
    out[task.name] = {
      state: 'completed',
      latency,
      opsPerSec: result.throughput.mean,
      opsStats,
      n: result.latency.samplesCount,
    };
  }
  return out;
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
