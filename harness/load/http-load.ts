import autocannon from 'autocannon';
import { RigError } from '../errors.ts';
import type { Figure, Stats } from '../measure/figure.ts';
import type { FigureMeta } from '../measure/helpers.ts';
import { recordFigure } from '../measure/record.ts';
import { tCritical95 } from '../measure/stats.ts';
import { progress } from '../run/progress.ts';
import { MIN_ACHIEVED_SHARE } from './open-model.ts';

export interface HttpLoadOptions {
  url: string;
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD';
  body?: string;
  headers?: Record<string, string>;
  connections?: number;
  /** Window, ms (default 1000). */
  durationMs?: number;
  /** Total requests instead of a window. */
  amount?: number;
  /** Open model: overall requests per second (autocannon corrects coordinated omission). */
  rate?: number;
  /** Run autocannon in a worker thread so it does not share the event loop with an in-process server. */
  worker?: boolean;
}

export interface HttpLoadResult {
  url: string;
  requests: number;
  /** Mean requests per second. */
  rps: number;
  /** Per-second request counts, their statistics (ci95 for the mean). */
  rpsStats: Stats;
  /** Latency, ms (autocannon's HDR histogram; percentiles without per-sample CI). */
  latencyMs: {
    p50: number;
    p90: number;
    p97_5: number;
    p99: number;
    mean: number;
    sd: number;
    min: number;
    max: number;
  };
  errors: number;
  timeouts: number;
  non2xx: number;
  durationS: number;
  valid: boolean;
  invalidReason?: string;
}

/** HTTP load through autocannon. */
export async function httpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  if (!/^https?:\/\//.test(options.url)) {
    throw new RigError('RIG_LOAD_INVALID', `httpLoad needs an http(s) URL, got "${options.url}"`);
  }
  progress(`autocannon ${options.method ?? 'GET'} ${options.url}`, true);
  const useWorker = options.worker ?? true;
  const result = await autocannon({
    url: options.url,
    method: options.method ?? 'GET',
    ...(options.body !== undefined ? { body: options.body } : {}),
    headers: options.headers ?? {},
    connections: options.connections ?? 10,
    ...(options.amount !== undefined
      ? { amount: options.amount }
      : { duration: (options.durationMs ?? 1000) / 1000 }),
    ...(options.rate !== undefined ? { overallRate: options.rate } : {}),
    ...(useWorker ? { workers: 1 } : {}),
  } as autocannon.Options);
  const req = result.requests;
  const seconds = Math.max(1, Math.round(result.duration));
  const half = seconds > 1 ? (tCritical95(seconds - 1) * req.stddev) / Math.sqrt(seconds) : 0;
  const rps = result.requests.total / Math.max(result.duration, 1e-9);
  const reasons: string[] = [];
  if (options.rate !== undefined && rps < MIN_ACHIEVED_SHARE * options.rate) {
    reasons.push(`achieved ${rps.toFixed(0)} req/s is below 95% of the target ${options.rate} req/s`);
  }
  if (result.requests.total === 0) reasons.push('no request completed');
  const lat = result.latency as unknown as Record<string, number>;
  return {
    url: options.url,
    requests: result.requests.total,
    rps,
    rpsStats: {
      n: seconds,
      min: req.min,
      p50: req.p50,
      p90: req.p90,
      p95: req.p97_5,
      p99: req.p99,
      max: req.max,
      mean: req.mean,
      sd: req.stddev,
      ci95: [rps - half, rps + half],
      ciMethod: seconds > 1 ? 't' : 'none',
    },
    latencyMs: {
      p50: lat.p50 ?? Number.NaN,
      p90: lat.p90 ?? Number.NaN,
      p97_5: lat.p97_5 ?? Number.NaN,
      p99: lat.p99 ?? Number.NaN,
      mean: lat.mean ?? Number.NaN,
      sd: lat.stddev ?? Number.NaN,
      min: lat.min ?? Number.NaN,
      max: lat.max ?? Number.NaN,
    },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    durationS: result.duration,
    valid: reasons.length === 0,
    ...(reasons.length ? { invalidReason: reasons.join('; ') } : {}),
  };
}

/** `${prefix}.throughput` (req/s), `${prefix}.p50`, `.p99` (ms) and `${prefix}.error_rate` (%). */
export async function recordHttpLoad(prefix: string, r: HttpLoadResult, meta: FigureMeta): Promise<Figure[]> {
  const method = `${meta.method} (autocannon, ${r.durationS.toFixed(1)} s, ${r.requests} requests)`;
  const validity = !r.valid
    ? { valid: false, invalidReason: r.invalidReason }
    : meta.valid === false
      ? { valid: false, invalidReason: meta.invalidReason ?? 'marked invalid' }
      : {};
  const figures: Figure[] = [];
  figures.push(
    await recordFigure({
      id: `${prefix}.throughput`,
      value: r.rps,
      unit: 'req/s',
      better: 'higher',
      n: r.requests,
      stats: r.rpsStats,
      method,
      ...(meta.reference ? { reference: meta.reference } : {}),
      ...validity,
    }),
  );
  for (const statistic of ['p50', 'p99'] as const) {
    const value = r.latencyMs[statistic];
    // autocannon's histogram counts whole milliseconds: below 1 ms it cannot tell values apart.
    const resolution =
      value < 1 && !('valid' in validity)
        ? { valid: false, invalidReason: `below autocannon's 1 ms latency resolution (${value} ms)` }
        : {};
    figures.push(
      await recordFigure({
        id: `${prefix}.${statistic}`,
        value,
        unit: 'ms',
        better: 'lower',
        n: r.requests,
        method: `${method}; 1 ms resolution`,
        ...validity,
        ...resolution,
      }),
    );
  }
  const failures = r.errors + r.timeouts + r.non2xx;
  figures.push(
    await recordFigure({
      id: `${prefix}.error_rate`,
      value: r.requests + r.errors > 0 ? (100 * failures) / (r.requests + r.errors) : 0,
      unit: '%',
      better: 'lower',
      n: r.requests + r.errors,
      method: `${method}; errors ${r.errors}, timeouts ${r.timeouts}, non-2xx ${r.non2xx}`,
      ...validity,
    }),
  );
  return figures;
}
