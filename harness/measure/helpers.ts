import { profile } from '../config/profile.ts';
import type { Figure } from './figure.ts';
import { pairedRatio } from './interleave.ts';
import type { LatencyRecorder } from './latency.ts';
import { recordFigure } from './record.ts';
import { type Statistic, summarize } from './stats.ts';
import type { ThroughputResult } from './throughput.ts';

export interface FigureMeta {
  /** One sentence: how the number was measured. */
  method: string;
  /** A same-run reference figure; the ratio is value / reference.value. */
  reference?: { id: string; value: number };
  labels?: Record<string, string>;
  valid?: boolean;
  invalidReason?: string;
  system?: string;
}

function common(meta: FigureMeta) {
  return {
    method: meta.method,
    ...(meta.labels ? { labels: meta.labels } : {}),
    ...(meta.system ? { system: meta.system } : {}),
    ...(meta.valid === false ? { valid: false, invalidReason: meta.invalidReason ?? 'marked invalid' } : {}),
  };
}

const LATENCY_STATISTICS: Statistic[] = ['p50', 'p95', 'p99'];

/**
 * Record a latency distribution as `${prefix}.p50`, `.p95`, `.p99`, each with its own 95%
 * interval. A reference (same unit) is matched statistic by statistic when it is a prefix
 * given as `{ id: 'x.y', value: NaN }` plus `referenceRecorder`; otherwise the same reference
 * figure is attached to each.
 */
export async function recordLatency(
  prefix: string,
  recorder: LatencyRecorder,
  meta: FigureMeta & { referenceRecorder?: { prefix: string; recorder: LatencyRecorder } },
): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const statistic of LATENCY_STATISTICS) {
    const stats = recorder.stats(statistic);
    let reference = meta.reference;
    if (meta.referenceRecorder) {
      const refStats = meta.referenceRecorder.recorder.stats(statistic);
      reference = { id: `${meta.referenceRecorder.prefix}.${statistic}`, value: refStats[statistic] };
    }
    figures.push(
      await recordFigure({
        id: `${prefix}.${statistic}`,
        value: stats[statistic],
        unit: recorder.unit,
        better: 'lower',
        n: stats.n,
        stats,
        percentiles: recorder.percentileCurve(),
        ...(reference ? { reference } : {}),
        ...common(meta),
      }),
    );
  }
  return figures;
}

/** Record a rate (`unit` per second, default ops/s) with its spread over intervals. */
export async function recordThroughput(
  id: string,
  result: ThroughputResult,
  meta: FigureMeta & { unit?: string; bytes?: boolean },
): Promise<Figure> {
  const scale = meta.bytes && result.count > 0 ? result.bytes / result.count : 1;
  const value = meta.bytes ? result.byteRate : result.rate;
  const stats = scaleStats(result.stats, scale);
  return recordFigure({
    id,
    value,
    unit: meta.bytes ? 'B/s' : (meta.unit ?? 'ops/s'),
    better: 'higher',
    n: result.count,
    stats: { ...stats, ciMethod: stats.n < 2 ? 'none' : stats.ciMethod },
    series: result.series.map(([t, v]) => [t, v * scale]),
    ...(meta.reference ? { reference: meta.reference } : {}),
    ...common(meta),
  });
}

function scaleStats<T extends { [k: string]: unknown }>(stats: T, factor: number): T {
  if (factor === 1) return stats;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(stats)) {
    if (k === 'n') out[k] = v;
    else if (typeof v === 'number') out[k] = v * factor;
    else if (Array.isArray(v)) out[k] = v.map((x) => (typeof x === 'number' ? x * factor : x));
    else out[k] = v;
  }
  return out as T;
}

/** One measured window of a paired comparison: its rate, the operations in it, when it began. */
export interface RateWindow {
  rate: number;
  ops: number;
  /** Start of the window, ms on any clock shared by both sides (series are drawn from the first). */
  atMs: number;
}

/**
 * Records windows of an A/B pair measured in alternation (`interleaved`): the reference (B) as
 * its own figure `referenceId`, then the figure (A) with the median per-pair ratio to it and that
 * ratio's bootstrap interval. Each figure's value is its median window rate, with the windows'
 * rates as its spread and series. `how` says how the windows were made (appended to both methods).
 */
export async function recordPairedRates(
  figure: RateWindow[],
  reference: RateWindow[],
  o: { id: string; method: string; referenceId: string; referenceMethod: string; unit: string; how: string },
): Promise<Figure> {
  const t0 = Math.min(figure[0]?.atMs ?? 0, reference[0]?.atMs ?? 0);
  const record = (id: string, w: RateWindow[], method: string, ref?: Figure['reference']) => {
    const stats = summarize(
      w.map((x) => x.rate),
      { statistic: 'p50', resamples: profile().resamples },
    );
    return recordFigure({
      id,
      value: stats.p50,
      unit: o.unit,
      better: 'higher',
      n: w.reduce((n, x) => n + x.ops, 0),
      stats,
      series: w.map((x) => [x.atMs - t0, x.rate]),
      method: `${method}; ${o.how}`,
      ...(ref ? { reference: ref } : {}),
    });
  };
  const ref = await record(o.referenceId, reference, o.referenceMethod);
  const ratio = pairedRatio(
    figure.map((x) => x.rate),
    reference.map((x) => x.rate),
    { resamples: profile().resamples },
  );
  return record(o.id, figure, `${o.method}; ratio: median over pairs, ci95 by bootstrap over pairs`, {
    id: o.referenceId,
    value: ref.value,
    ratio: ratio.value,
    ratioCi95: ratio.ci95,
    pairs: ratio.n,
  });
}
