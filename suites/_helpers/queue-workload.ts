// The queue workload shared by its latency (smoke) and bench suites: rates from counts taken in
// the queue's processes, the per-message verdicts, and the queue's message rate measured in windows
// interleaved with worker_threads postMessage (its same-run reference), recorded with the ratio.
import { expect } from 'vitest';
import {
  type Figure,
  interleaved,
  pairedRatio,
  profile,
  recordFigure,
  summarize,
  type ThroughputResult,
  throughputFromCounts,
} from '../../harness/index.ts';
import { bench } from '../../systems/queue/index.ts';

/** The queue's bench counts in its own processes; the harness turns the counts into a rate. */
export function toThroughput(s: bench.RateSample): ThroughputResult {
  return throughputFromCounts(
    { count: s.count, bytes: s.bytes, elapsedMs: s.elapsedMs, intervalMs: s.bucketMs, buckets: s.buckets },
    { resamples: profile().resamples },
  );
}

/** A figure over messages that were lost, corrupted or reordered is recorded, but invalid. */
export function trust(check: bench.StreamCheck): { valid?: false; invalidReason?: string } {
  const failure = bench.checkFailure(check);
  return failure ? { valid: false, invalidReason: failure } : {};
}

/** After the figures are recorded: every message sent arrived, intact and in order. */
export function expectEveryMessageVerified(what: string, check: bench.StreamCheck): void {
  expect(check.mismatches, `${what}: ${bench.describeCheck(check)}`).toBe(0);
  expect(check.received, `${what}: messages received = sent (${bench.describeCheck(check)})`).toBe(
    check.sent,
  );
  expect(check.sent, `${what}: messages sent`).toBeGreaterThan(0);
}

/** Each window runs this long before it is counted (the paused side's caches and scheduling). */
const SETTLE_MS = 50;

/** One counted window as a rate, and when it began (ms after the first window). */
export interface RateWindow {
  atMs: number;
  result: ThroughputResult;
}

export interface PairedWindowsOptions {
  producers: number;
  consumers: number;
  size: number;
  /** Messages per Node-API call on each side (1: one put and one get call per message). */
  batch?: number;
  /** How the peers call the queue (bench.QueueThroughputOptions.api); default `batch`. */
  api?: 'batch' | 'await' | 'await-value';
  /** Counted length of each window. */
  windowMs: number;
  /** Windows of each side (>= 5). */
  pairs: number;
  /** Uncounted run of both sides before the first pair only. */
  warmupMs: number;
  label: string;
}

export interface PairedWindows extends PairedWindowsOptions {
  batch: number;
  queue: RateWindow[];
  postMessage: RateWindow[];
  /** The verdict over every message the floods sent, in every window. */
  check: bench.StreamCheck;
}

/**
 * The queue (flood and drain processes) and a postMessage worker, each started once, measured in
 * alternating windows (AB BA ...); whichever side is not in its window is paused and takes no CPU.
 */
export async function queueVsPostMessage(o: PairedWindowsOptions): Promise<PairedWindows> {
  const pm = bench.openPostMessageWindows({ size: o.size });
  let q: bench.QueueWindows | undefined;
  try {
    q = await bench.openQueueWindows({
      producers: o.producers,
      consumers: o.consumers,
      size: o.size,
      ...(o.batch ? { batch: o.batch } : {}),
      ...(o.api ? { api: o.api } : {}),
    });
    const sides = { queue: q, postMessage: pm };
    for (const side of Object.values(sides)) await side.window({ durationMs: o.warmupMs, settleMs: 0 });
    const windows: Record<keyof typeof sides, RateWindow[]> = { queue: [], postMessage: [] };
    const t0 = performance.now();
    const measure = async (name: keyof typeof sides) => {
      const atMs = performance.now() - t0;
      const s = await sides[name].window({ durationMs: o.windowMs, settleMs: SETTLE_MS });
      const result = throughputFromCounts({ ...s, intervalMs: s.elapsedMs, buckets: [s.count] });
      windows[name].push({ atMs, result });
      return result.rate;
    };
    await interleaved({
      windows: o.pairs,
      a: () => measure('queue'),
      b: () => measure('postMessage'),
      label: o.label,
    });
    return { ...o, batch: q.batch, ...windows, check: await q.close() };
  } finally {
    await Promise.allSettled([q?.close(), pm.close()]);
  }
}

/** The windows of one side as one result: the median window's rate, the windows' rates as its spread. */
export function fromWindows(windows: RateWindow[]): ThroughputResult {
  const sum = (pick: (r: ThroughputResult) => number) => windows.reduce((t, w) => t + pick(w.result), 0);
  const stats = summarize(
    windows.map((w) => w.result.rate),
    { statistic: 'p50', resamples: profile().resamples },
  );
  const count = sum((r) => r.count);
  const bytes = sum((r) => r.bytes);
  return {
    count,
    bytes,
    elapsedMs: sum((r) => r.elapsedMs),
    rate: stats.p50,
    byteRate: count > 0 ? (stats.p50 * bytes) / count : 0,
    series: windows.map((w) => [w.atMs, w.result.rate]),
    stats,
  };
}

/** How the paired windows ran, for a figure's method. */
export function describeWindows(run: PairedWindows): string {
  return (
    `${run.pairs} pairs of ${run.windowMs} ms windows, queue and worker_threads postMessage alternating AB BA ` +
    `(each counted after ${SETTLE_MS} ms, both warmed up ${run.warmupMs} ms before the first pair); ` +
    'the queue peers and the worker are started once and paused between their windows (SIGSTOP / no credit); ' +
    'value: median msg/s over the windows'
  );
}

/**
 * Records the postMessage windows as the reference figure (when `reference.method` is given) and
 * the queue's windows as `id`, with the median per-pair ratio queue / postMessage and its bootstrap
 * interval over the pairs. The queue figure is invalid when any message of any window failed its check.
 */
export async function recordQueueVsPostMessage(
  run: PairedWindows,
  o: { id: string; method: string; reference: { id: string; method?: string } },
): Promise<{ queue: ThroughputResult; figure: Figure; reference?: Figure }> {
  const queue = fromWindows(run.queue);
  const postMessage = fromWindows(run.postMessage);
  const windows = describeWindows(run);
  const reference = o.reference.method
    ? await recordRate(o.reference.id, postMessage, `${o.reference.method}; ${windows}`)
    : undefined;
  const ratio = pairedRatio(
    run.queue.map((w) => w.result.rate),
    run.postMessage.map((w) => w.result.rate),
    { resamples: profile().resamples },
  );
  const figure = await recordRate(
    o.id,
    queue,
    `${o.method}; ${windows}; ratio: median over pairs of queue / postMessage, ci95 by bootstrap over pairs`,
    {
      reference: {
        id: o.reference.id,
        value: postMessage.rate,
        ratio: ratio.value,
        ratioCi95: ratio.ci95,
        pairs: ratio.n,
      },
      ...trust(run.check),
    },
  );
  return { queue, figure, ...(reference ? { reference } : {}) };
}

function recordRate(
  id: string,
  r: ThroughputResult,
  method: string,
  extra: Pick<Figure, 'reference'> & { valid?: false; invalidReason?: string } = {},
): Promise<Figure> {
  return recordFigure({
    id,
    value: r.rate,
    unit: 'msg/s',
    better: 'higher',
    n: r.count,
    stats: r.stats,
    series: r.series,
    method,
    ...extra,
  });
}
