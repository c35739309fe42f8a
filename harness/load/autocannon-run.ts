// One autocannon run, shared by the child runner (autocannon-child.ts) and httpLoad's inline mode.
// Jobs and outcomes are plain JSON so that they can cross a process boundary.
import autocannon from 'autocannon';
import { z } from 'zod';

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** One autocannon run, as JSON. */
export const AutocannonJobSchema = z
  .object({
    url: z.string().regex(/^https?:\/\//, 'must be an http(s) URL'),
    method: z.enum(HTTP_METHODS),
    body: z.string().optional(),
    headers: z.record(z.string(), z.string()),
    connections: z.number().int().positive(),
    /** Measured window, ms; ignored when `amount` is set. */
    durationMs: z.number().positive(),
    /** Total requests instead of a window. */
    amount: z.number().int().positive().optional(),
    /** Open model: overall requests per second. */
    rate: z.number().positive().optional(),
    /** A request unanswered after this many seconds counts as a timeout (autocannon's minimum is 1). */
    timeoutS: z.number().min(1).optional(),
    /** Responses are counted per interval of this many ms (also autocannon's `sampleInt`). */
    intervalMs: z.number().positive(),
    /** An unrecorded run of the same requests before the measured one, ms (0: none). */
    warmupMs: z.number().nonnegative(),
  })
  .strict();
export type AutocannonJob = z.infer<typeof AutocannonJobSchema>;

/** What one run measured. */
export interface AutocannonOutcome {
  /** Responses received, any status. */
  responses: number;
  /** From the first request to the end of the window, ms (`performance.now()`). */
  elapsedMs: number;
  /** Responses per `intervalMs` interval since the start; the last one may be partial. */
  counts: number[];
  intervalMs: number;
  /** autocannon's latency histogram, whole milliseconds. */
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
  /** Requests that got no response: connection errors and timeouts (autocannon counts a timeout as an error too). */
  errors: number;
  /** The share of `errors` that were timeouts. */
  timeouts: number;
  /** Responses with a status outside 2xx. */
  non2xx: number;
  statusCodes: Record<string, number>;
}

function autocannonOptions(job: AutocannonJob, durationMs: number): autocannon.Options {
  return {
    url: job.url,
    method: job.method,
    ...(job.body !== undefined ? { body: job.body } : {}),
    headers: job.headers,
    connections: job.connections,
    ...(job.amount !== undefined ? { amount: job.amount } : { duration: durationMs / 1000 }),
    ...(job.rate !== undefined ? { overallRate: job.rate } : {}),
    ...(job.timeoutS !== undefined ? { timeout: job.timeoutS } : {}),
    sampleInt: job.intervalMs,
  };
}

/** Run autocannon once in this process; `signal` stops it early (the outcome covers what ran). */
export async function runAutocannon(job: AutocannonJob, signal?: AbortSignal): Promise<AutocannonOutcome> {
  if (job.warmupMs > 0 && job.amount === undefined) {
    await autocannonOnce(
      { ...job, intervalMs: Math.min(job.intervalMs, job.warmupMs) },
      job.warmupMs,
      signal,
    );
  }
  return autocannonOnce(job, job.durationMs, signal);
}

async function autocannonOnce(
  job: AutocannonJob,
  durationMs: number,
  signal: AbortSignal | undefined,
): Promise<AutocannonOutcome> {
  const counts: number[] = [];
  const start = performance.now();
  let instance: autocannon.Instance | undefined;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(autocannonOptions(job, durationMs), (error, result) =>
      error ? reject(error) : resolve(result),
    );
  });
  instance?.on('response', () => {
    const i = Math.floor((performance.now() - start) / job.intervalMs);
    while (counts.length <= i) counts.push(0);
    counts[i]! += 1;
  });
  const stop = () => instance?.stop();
  signal?.addEventListener('abort', stop, { once: true });
  if (signal?.aborted) stop();
  let result: autocannon.Result;
  try {
    result = await finished;
  } finally {
    signal?.removeEventListener('abort', stop);
  }
  const elapsedMs = performance.now() - start;
  const lat = result.latency as unknown as Record<string, number>;
  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {}))
    statusCodes[code] = count ?? 0;
  return {
    responses: result.requests.total,
    elapsedMs,
    counts,
    intervalMs: job.intervalMs,
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
    statusCodes,
  };
}
