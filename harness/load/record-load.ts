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
  // The error rate first: it is the figure that matters most when nothing else could be measured.
  const total = result.completed + result.errors;
  const figures: Figure[] = [
    await recordFigure({
      id: `${prefix}.error_rate`,
      value: total > 0 ? (100 * result.errors) / total : 0,
      unit: '%',
      better: 'lower',
      n: total,
      method: `${merged.method}${result.errorSamples.length ? `; first errors: ${result.errorSamples.join(' | ')}` : ''}`,
      ...(result.valid ? {} : { valid: false, invalidReason: result.invalidReason ?? 'invalid run' }),
    }),
  ];
  const { reference: _reference, ...withoutReference } = merged;
  if (result.latency.n > 0) {
    figures.push(...(await recordLatency(prefix, result.latency, withoutReference)));
  } else {
    // No operation completed: the latency figures exist, with no verdict and the reason.
    for (const statistic of ['p50', 'p95', 'p99'])
      figures.push(
        await recordFigure({
          id: `${prefix}.${statistic}`,
          value: 0,
          unit: result.latency.unit,
          better: 'lower',
          n: 0,
          method: merged.method,
          valid: false,
          invalidReason: result.invalidReason ?? 'no operation completed',
        }),
      );
  }
  figures.push(
    await recordThroughput(`${prefix}.throughput`, result.throughput, {
      ...merged,
      unit: meta.unit ?? 'ops/s',
    }),
  );
  return figures;
}
