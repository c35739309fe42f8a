import type { Figure } from '../measure/figure.ts';
import { type FigureMeta, recordLatency, recordThroughput } from '../measure/helpers.ts';
import { recordFigure } from '../measure/record.ts';
import type { LoadResult } from './types.ts';

/**
 * A load result as figures: `${prefix}.p50/.p95/.p99`, `${prefix}.throughput` and
 * `${prefix}.error_rate`. An invalid run (driver saturated, rate not achieved) marks them all.
 */
export async function recordLoad(
  prefix: string,
  result: LoadResult,
  meta: FigureMeta & { unit?: string },
): Promise<Figure[]> {
  const rate = result.targetRate !== undefined ? ` at a target of ${result.targetRate}/s` : '';
  const merged: FigureMeta = {
    ...meta,
    method: `${meta.method}${rate}`,
    ...(result.valid ? {} : { valid: false, invalidReason: result.invalidReason ?? 'invalid run' }),
  };
  const { reference: _reference, ...withoutReference } = merged;
  const figures = await recordLatency(prefix, result.latency, withoutReference);
  figures.push(
    await recordThroughput(`${prefix}.throughput`, result.throughput, {
      ...merged,
      unit: meta.unit ?? 'ops/s',
    }),
  );
  const total = result.completed + result.errors;
  figures.push(
    await recordFigure({
      id: `${prefix}.error_rate`,
      value: total > 0 ? (100 * result.errors) / total : 0,
      unit: '%',
      better: 'lower',
      n: total,
      method: `${merged.method}${result.errorSamples.length ? `; first errors: ${result.errorSamples.join(' | ')}` : ''}`,
      ...(result.valid ? {} : { valid: false, invalidReason: result.invalidReason ?? 'invalid run' }),
    }),
  );
  return figures;
}
