import { RigError } from '../errors.ts';
import { LatencyRecorder } from '../measure/latency.ts';
import { injectAfter } from '../measure/slowdown.ts';
import { seededRandom } from '../measure/stats.ts';
import { ThroughputMeter } from '../measure/throughput.ts';
import { progress } from '../run/progress.ts';
import { describeError, type LoadResult, MAX_ERROR_SAMPLES } from './types.ts';

export interface OpenLoopOptions {
  /** Arrivals per second. */
  rate: number;
  /** Arrival window, ms. In-flight operations are awaited after it. */
  durationMs: number;
  /** `constant` spacing, or `poisson` (exponential gaps, burstiness 1). Default constant. */
  arrival?: 'constant' | 'poisson';
  seed?: number;
  /** Arrivals beyond this many in flight are dropped and counted (k6's dropped_iterations). */
  maxInFlight?: number;
  warmupMs?: number;
  op: (i: number) => Promise<unknown>;
  unit?: 'ns' | 'us' | 'ms' | 's';
  label?: string;
}

export interface OpenLoadResult extends LoadResult {
  targetRate: number;
  dropped: number;
  /** How late the driver issued arrivals (send lag), in ms. */
  lag: LatencyRecorder;
}

/** The run is trustworthy only while the achieved rate is at least this share of the target. */
export const MIN_ACHIEVED_SHARE = 0.95;

/**
 * Open model: arrivals on a schedule, independent of completions. Latency is measured from the
 * intended arrival time, so a stalled system is charged for the whole stall (coordinated
 * omission corrected, as wrk2 does). The run is invalid when the achieved rate falls below 95%
 * of the target or the driver itself issues arrivals late.
 */
export async function openLoop(options: OpenLoopOptions): Promise<OpenLoadResult> {
  const { rate, durationMs, op } = options;
  if (!(rate > 0) || !(durationMs > 0)) {
    throw new RigError(
      'RIG_LOAD_INVALID',
      `openLoop needs rate > 0 and durationMs > 0 (got ${rate}, ${durationMs})`,
    );
  }
  if (options.warmupMs && options.warmupMs > 0) {
    await openLoop({ ...options, durationMs: options.warmupMs, warmupMs: 0, label: 'warm-up' });
  }
  const random = seededRandom(options.seed ?? 1);
  const gapNs = () => {
    const mean = 1e9 / rate;
    return options.arrival === 'poisson' ? -Math.log(1 - random()) * mean : mean;
  };
  const maxInFlight = options.maxInFlight ?? Number.POSITIVE_INFINITY;
  const latency = new LatencyRecorder({ unit: options.unit ?? 'ms', inject: false });
  const lag = new LatencyRecorder({ unit: 'ms', inject: false });
  const meter = new ThroughputMeter().start();
  const errorSamples: string[] = [];
  let errors = 0;
  let dropped = 0;
  let inFlight = 0;
  let issued = 0;
  const pending = new Set<Promise<void>>();
  const t0 = process.hrtime.bigint();
  const endNs = t0 + BigInt(Math.round(durationMs * 1e6));
  let nextNs = Number(t0);
  const label = options.label ?? `open-loop ${rate}/s`;

  const fire = (i: number, intendedNs: bigint) => {
    inFlight++;
    const p = (async () => {
      try {
        const sent = process.hrtime.bigint();
        await op(i);
        // --inject-slowdown: the operation's own (service) time is slowed, not the queueing before
        // it, or a late driver would slow itself further.
        injectAfter(Number(process.hrtime.bigint() - sent));
        latency.record(Number(process.hrtime.bigint() - intendedNs));
        meter.add(1);
      } catch (error) {
        errors++;
        if (errorSamples.length < MAX_ERROR_SAMPLES) errorSamples.push(describeError(error));
      } finally {
        inFlight--;
      }
    })();
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  while (true) {
    const now = process.hrtime.bigint();
    if (now >= endNs) break;
    while (BigInt(Math.round(nextNs)) <= now && BigInt(Math.round(nextNs)) < endNs) {
      const intended = BigInt(Math.round(nextNs));
      lag.record(Number(now - intended));
      if (inFlight >= maxInFlight) dropped++;
      else fire(issued, intended);
      issued++;
      nextNs += gapNs();
    }
    progress(`${label}: ${issued} arrivals, ${inFlight} in flight, ${errors} errors`);
    const waitMs = (nextNs - Number(process.hrtime.bigint())) / 1e6;
    if (waitMs > 2) await new Promise((r) => setTimeout(r, Math.min(waitMs - 1, 50)));
    else await new Promise((r) => setImmediate(r));
  }
  // Arrivals the schedule held before the end that the loop never reached were missed, too.
  let scheduled = issued;
  while (BigInt(Math.round(nextNs)) < endNs) {
    scheduled++;
    nextNs += gapNs();
  }
  const arrivalWindowMs = Number(process.hrtime.bigint() - t0) / 1e6;
  await Promise.all(pending);
  const throughput = meter.stop();
  const completed = latency.n;
  const fired = issued - dropped;
  const achievedRate = fired / (arrivalWindowMs / 1000);
  const reasons: string[] = [];
  // Judged against the arrivals the schedule actually held: with Poisson arrivals a short window
  // holds more or fewer than rate x window by chance alone.
  if (fired < MIN_ACHIEVED_SHARE * scheduled) {
    reasons.push(
      `achieved ${achievedRate.toFixed(1)}/s is below 95% of the target ${rate}/s (${fired} of ${scheduled} scheduled arrivals sent)`,
    );
  }
  const lagP95 = lag.stats('p95').p95;
  const lagLimitMs = Math.max(2, 2000 / rate);
  if (lagP95 > lagLimitMs) {
    reasons.push(`load driver saturated: p95 send lag ${lagP95.toFixed(2)} ms > ${lagLimitMs.toFixed(2)} ms`);
  }
  if (completed === 0) reasons.push('no operation completed');
  return {
    completed,
    errors,
    errorSamples,
    latency,
    throughput,
    targetRate: rate,
    achievedRate,
    dropped,
    lag,
    valid: reasons.length === 0,
    ...(reasons.length ? { invalidReason: reasons.join('; ') } : {}),
  };
}
