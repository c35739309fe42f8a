// The time figure that sits beside every instruction figure: the same operation, the same loop and
// the same warm-up as the counted run, but native (no valgrind) in the test's own process. An
// instruction count misses waiting, kernel time, cache misses and contention; this one does not.
import { type Loop, loopAsync, loopSync, warmUp } from './instructions-runner.ts';
import type { InstructionOperation } from './instructions-types.ts';
import { injectAfter } from './slowdown.ts';
import { type Stats, summarize } from './stats.ts';

export interface TimePerOp {
  /** Mean nanoseconds per unit of work over the rounds. */
  mean: number;
  stats: Stats;
  /** Units timed in all (rounds x calls x units per call). */
  units: number;
  rounds: number;
  callsPerRound: number;
}

/**
 * Times `rounds` rounds of `calls` calls after the operation's warm-up; each round gives one
 * sample of ns per unit. `--inject-slowdown` slows each round by its fraction (a busy wait).
 */
export async function timePerOp(
  op: InstructionOperation,
  options: {
    rounds: number;
    calls: number;
    warmup: number;
    unitsPerCall: number;
    /** Keep timing rounds past `rounds` until this many units are timed or `budgetMs` is spent. */
    minUnits?: number;
    budgetMs?: number;
  },
): Promise<TimePerOp> {
  const state = await op.setup();
  const samples: number[] = [];
  try {
    const first = op.run(state, 0) as { then?: unknown } | undefined;
    const isAsync = Boolean(first && typeof first.then === 'function');
    if (isAsync) await first;
    const loop: Loop = isAsync ? loopAsync : loopSync;
    let at = await warmUp(loop, op, state, options.warmup, 0);
    const perRound = options.calls * options.unitsPerCall;
    const until = performance.now() + (options.budgetMs ?? 0);
    const more = (r: number) =>
      r < options.rounds || (r * perRound < (options.minUnits ?? 0) && performance.now() < until);
    for (let r = 0; more(r); r++) {
      const t0 = process.hrtime.bigint();
      await loop(op, state, at, options.calls, 0);
      let ns = Number(process.hrtime.bigint() - t0);
      ns += injectAfter(ns);
      at += options.calls;
      samples.push(ns / perRound);
    }
  } finally {
    await op.teardown?.(state);
  }
  const stats = summarize(samples, { statistic: 'mean' });
  return {
    mean: stats.mean,
    stats,
    units: samples.length * options.calls * options.unitsPerCall,
    rounds: samples.length,
    callsPerRound: options.calls,
  };
}
