import { RigError } from '../errors.ts';
import type { Figure, Stats } from '../measure/figure.ts';
import type { FigureMeta } from '../measure/helpers.ts';
import { recordFigure } from '../measure/record.ts';
import { summarize } from '../measure/stats.ts';
import { progress } from '../run/progress.ts';
import { runAutocannonChild } from './autocannon-process.ts';
import {
  type AutocannonJob,
  type AutocannonOutcome,
  type HttpMethod,
  runAutocannon,
} from './autocannon-run.ts';
import { MIN_ACHIEVED_SHARE } from './open-model.ts';

export interface HttpLoadOptions {
  url: string;
  /** @default 'GET' */
  method?: HttpMethod;
  body?: string;
  headers?: Record<string, string>;
  /** @default 10 */
  connections?: number;
  /** Measured window, ms. @default 1000 */
  durationMs?: number;
  /** Total requests instead of a window. */
  amount?: number;
  /** Open model: overall requests per second (autocannon corrects coordinated omission). */
  rate?: number;
  /** A request unanswered after this many seconds is a timeout (autocannon's minimum is 1). @default 10 */
  timeoutS?: number;
  /** An unrecorded run of the same requests just before the window, in the same process, ms. @default 0 */
  warmupMs?: number;
  /**
   * Where autocannon runs: `child`, a process of its own (started per call, killed when the call
   * ends); `inline`, this process, sharing its event loop and cores with whatever else runs here
   * (only for tests of the harness itself). @default 'child'
   */
  process?: 'child' | 'inline';
  /** Stops the run early: the child is killed and the result is marked invalid. */
  signal?: AbortSignal;
}

export interface HttpLoadResult {
  url: string;
  /** Responses received, any status. */
  requests: number;
  /** Responses per second over the window. */
  rps: number;
  /**
   * Per-interval response rates, req/s (one sample per `intervalMs`, whole intervals only);
   * ci95 is the mean's (bootstrap over intervals).
   */
  rpsStats: Stats;
  intervalMs: number;
  /** Latency, ms (autocannon's HDR histogram in whole ms; percentiles without per-sample CI). */
  latencyMs: AutocannonOutcome['latencyMs'];
  /** Requests that got no response: connection errors and timeouts. */
  errors: number;
  /** Timeouts, already counted in `errors` (autocannon counts a timeout as an error). */
  timeouts: number;
  /** Responses with a status outside 2xx (counted in `requests`). */
  non2xx: number;
  durationS: number;
  /** Where autocannon ran. */
  process: 'child' | 'inline';
  valid: boolean;
  invalidReason?: string;
}

/** Failed requests (no response, or a non-2xx one) out of all attempts; each timeout counts once. */
export function httpFailures(r: Pick<HttpLoadResult, 'requests' | 'errors' | 'non2xx'>): {
  failed: number;
  attempts: number;
} {
  return { failed: r.errors + r.non2xx, attempts: r.requests + r.errors };
}

/** Response counts of whole intervals, as rates; a window shorter than one interval gives one rate. */
function intervalRates(o: AutocannonOutcome): number[] {
  const whole = Math.floor(o.elapsedMs / o.intervalMs);
  if (whole < 1) return [o.elapsedMs > 0 ? (1000 * o.responses) / o.elapsedMs : 0];
  return Array.from({ length: whole }, (_, i) => ((o.counts[i] ?? 0) * 1000) / o.intervalMs);
}

function shape(options: HttpLoadOptions, where: 'child' | 'inline', o: AutocannonOutcome): HttpLoadResult {
  const rps = o.elapsedMs > 0 ? (1000 * o.responses) / o.elapsedMs : 0;
  const reasons: string[] = [];
  if (options.rate !== undefined && rps < MIN_ACHIEVED_SHARE * options.rate) {
    reasons.push(`achieved ${rps.toFixed(0)} req/s is below 95% of the target ${options.rate} req/s`);
  }
  if (o.responses === 0) reasons.push('no request completed');
  return {
    url: options.url,
    requests: o.responses,
    rps,
    rpsStats: summarize(intervalRates(o), { statistic: 'mean' }),
    intervalMs: o.intervalMs,
    latencyMs: o.latencyMs,
    errors: o.errors,
    timeouts: o.timeouts,
    non2xx: o.non2xx,
    durationS: o.elapsedMs / 1000,
    process: where,
    valid: reasons.length === 0,
    ...(reasons.length ? { invalidReason: reasons.join('; ') } : {}),
  };
}

function failed(options: HttpLoadOptions, where: 'child' | 'inline', reason: string): HttpLoadResult {
  const nan = Number.NaN;
  return {
    ...shape(options, where, {
      responses: 0,
      elapsedMs: 0,
      counts: [],
      intervalMs: 1000,
      latencyMs: { p50: nan, p90: nan, p97_5: nan, p99: nan, mean: nan, sd: nan, min: nan, max: nan },
      errors: 0,
      timeouts: 0,
      non2xx: 0,
      statusCodes: {},
    }),
    valid: false,
    invalidReason: reason,
  };
}

/**
 * HTTP load through autocannon, by default in a child process of its own. A child that fails or
 * is killed gives an invalid result with the reason (and its stderr tail), not an exception.
 */
export async function httpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  if (!/^https?:\/\//.test(options.url)) {
    throw new RigError('RIG_LOAD_INVALID', `httpLoad needs an http(s) URL, got "${options.url}"`);
  }
  const durationMs = options.durationMs ?? 1000;
  const job: AutocannonJob = {
    url: options.url,
    method: options.method ?? 'GET',
    ...(options.body !== undefined ? { body: options.body } : {}),
    headers: options.headers ?? {},
    connections: options.connections ?? 10,
    durationMs,
    ...(options.amount !== undefined ? { amount: options.amount } : {}),
    ...(options.rate !== undefined ? { rate: options.rate } : {}),
    ...(options.timeoutS !== undefined ? { timeoutS: options.timeoutS } : {}),
    // About ten intervals per window, 100 ms to 1 s each; autocannon ends a run on an interval tick.
    intervalMs:
      options.amount !== undefined ? 1000 : Math.min(1000, Math.max(100, Math.round(durationMs / 10))),
    warmupMs: options.warmupMs ?? 0,
  };
  const where = options.process ?? 'child';
  progress(`autocannon ${job.method} ${options.url} (${where})`, true);
  if (where === 'inline') {
    const result = shape(options, where, await runAutocannon(job, options.signal));
    return options.signal?.aborted ? { ...result, valid: false, invalidReason: 'aborted' } : result;
  }
  // Deadline: the window, then generous room for a slow start on a loaded machine.
  const deadlineMs = (options.amount !== undefined ? 600_000 : job.warmupMs + durationMs) + 60_000;
  const run = await runAutocannonChild(job, {
    deadlineMs,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return run.state === 'completed' ? shape(options, where, run.outcome) : failed(options, where, run.reason);
}

/**
 * `${prefix}.throughput` (req/s, stats over per-interval rates), `${prefix}.p50`, `.p99` (ms) and
 * `${prefix}.error_rate` (%: requests without a response or with a non-2xx one, over all attempts).
 */
export async function recordHttpLoad(prefix: string, r: HttpLoadResult, meta: FigureMeta): Promise<Figure[]> {
  const where = r.process === 'child' ? 'in its own process' : 'in the test process';
  const method = `${meta.method} (autocannon ${where}, ${r.durationS.toFixed(1)} s, ${r.requests} responses)`;
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
      method: `${method}; spread over ${r.rpsStats.n} intervals of ${r.intervalMs} ms`,
      ...(meta.reference ? { reference: meta.reference } : {}),
      ...validity,
    }),
  );
  for (const statistic of ['p50', 'p99'] as const) {
    const value = r.latencyMs[statistic];
    // autocannon's histogram counts whole milliseconds: below 1 ms it cannot tell values apart.
    const resolution = !Number.isFinite(value)
      ? { valid: false, invalidReason: r.invalidReason ?? 'no latency measured' }
      : value < 1 && !('valid' in validity)
        ? { valid: false, invalidReason: `below autocannon's 1 ms latency resolution (${value} ms)` }
        : {};
    figures.push(
      await recordFigure({
        id: `${prefix}.${statistic}`,
        value: Number.isFinite(value) ? value : 0,
        unit: 'ms',
        better: 'lower',
        n: r.requests,
        method: `${method}; 1 ms resolution`,
        ...validity,
        ...resolution,
      }),
    );
  }
  const { failed, attempts } = httpFailures(r);
  figures.push(
    await recordFigure({
      id: `${prefix}.error_rate`,
      value: attempts > 0 ? (100 * failed) / attempts : 0,
      unit: '%',
      better: 'lower',
      n: attempts,
      method: `${method}; ${failed} failed of ${attempts} attempts: ${r.errors} without a response (${r.timeouts} of them timeouts), ${r.non2xx} non-2xx`,
      ...validity,
    }),
  );
  return figures;
}
