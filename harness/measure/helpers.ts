import type { Figure } from './figure.ts';
import type { LatencyRecorder } from './latency.ts';
import { recordFigure } from './record.ts';
import type { Statistic } from './stats.ts';
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
