/**
 * `rig run --inject-slowdown F` (a calibration flag): every measured operation is made slower by
 * the fraction F of its own duration, with a busy-wait, so that the gate's detection rate can be
 * measured on real runs. `rig run` passes F to the vitest workers as RIG_INJECT_SLOWDOWN; the run
 * is marked `injected` in run.json and can never become a baseline.
 */
import { readRigEnv } from '../run/env.ts';

let cached: number | undefined;
let spent = 0;

/** Nanoseconds this process has spent in injected busy-waits so far. */
export function injectedNs(): number {
  return spent;
}

/** The injected slowdown of this process: 0 unless `rig run --inject-slowdown` set one. */
export function injectedSlowdown(): number {
  if (cached === undefined) {
    cached = readRigEnv().RIG_INJECT_SLOWDOWN ?? 0;
  }
  return cached;
}

/** For tests: forget the cached value so that the environment is read again. */
export function resetInjectedSlowdown(): void {
  cached = undefined;
}

/** Busy-wait (never sleep: the slowdown must cost CPU like real work) for `ns` nanoseconds. */
export function spinFor(ns: number): void {
  if (!(ns > 0)) return;
  const until = process.hrtime.bigint() + BigInt(Math.round(ns));
  while (process.hrtime.bigint() < until) {
    // spin
  }
}

/**
 * After an operation that took `elapsedNs`, spin for the injected fraction of it and return the
 * extra nanoseconds spent (0 when nothing is injected). Callers add the result to the measured
 * duration, so the figure reads the slowed operation.
 */
export function injectAfter(elapsedNs: number): number {
  const f = injectedSlowdown();
  if (f === 0 || !(elapsedNs > 0)) return 0;
  const start = process.hrtime.bigint();
  spinFor(elapsedNs * f);
  const extra = Number(process.hrtime.bigint() - start);
  spent += extra;
  return extra;
}
