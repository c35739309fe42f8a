import { injectAfter } from './slowdown.ts';
import { quantileSorted } from './stats.ts';

/** Back-to-back pairs of clock reads behind the timer's cost. */
export const TIMER_PAIRS = 4_000;

export interface TimerCost {
  /** The cost of one `process.hrtime.bigint()` call, ns: the median of `pairsNs`. */
  costNs: number;
  /** Each pair's difference, ns, in the order taken. */
  pairsNs: Float64Array;
}

let cached: TimerCost | undefined;

function readPairs(count: number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const a = process.hrtime.bigint();
    const b = process.hrtime.bigint();
    out[i] = Number(b - a);
  }
  return out;
}

/**
 * What the clock costs that every per-call latency is read with: the median difference of
 * back-to-back `process.hrtime.bigint()` pairs, after as many pairs of warm-up. Measured once per
 * process (a few hundred microseconds) and cached, so that every figure is judged against the
 * same number. A latency within a few times of it measures the clock, not the operation.
 */
export function measureTimer(): TimerCost {
  if (!cached) {
    readPairs(TIMER_PAIRS);
    const pairsNs = readPairs(TIMER_PAIRS);
    const costNs = quantileSorted(Float64Array.from(pairsNs).sort(), 0.5);
    cached = { costNs, pairsNs };
  }
  return cached;
}

/** The cost of one `process.hrtime.bigint()` call in this process, ns (see measureTimer). */
export function timerCostNs(): number {
  return measureTimer().costNs;
}

/** No operation returns it: comparing each result with it keeps every call alive. */
const NEVER = Symbol('never returned');

/**
 * Per-call times of an operation too fast to time on its own (near the clock's cost, see
 * measureTimer): `batch` calls between two clock reads, divided by `batch`; one sample per batch,
 * batches for `ms`. Every result is consumed, so that the compiler cannot drop the calls. Figures
 * from these samples carry `labels: { timing: 'amortised' }`. Under `rig run --inject-slowdown`
 * each batch is slowed like any measured operation.
 */
export function timeBatches(op: () => unknown, options: { batch: number; ms: number }): number[] {
  const batch = Math.max(1, Math.floor(options.batch));
  const perCallNs: number[] = [];
  const until = performance.now() + options.ms;
  while (performance.now() < until) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) if (op() === NEVER) throw new Error('unreachable');
    const elapsed = Number(process.hrtime.bigint() - t0);
    perCallNs.push((elapsed + injectAfter(elapsed)) / batch);
  }
  return perCallNs;
}
