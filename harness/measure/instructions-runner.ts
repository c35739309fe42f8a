// The child side of instruction counting: runs one operation of a workload module under callgrind.
// Setup, a fixed warm-up, then two counted segments of n and 3n calls, each between two marks.
// A mark is a call of os.getPriority(), whose native function (uv_os_getpriority) callgrind is
// told to dump before (--dump-before), so every segment lands in its own part file.
import { readSync, writeSync } from 'node:fs';
import os from 'node:os';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import type {
  InstructionOperation,
  InstructionWorkload,
  RunnerConfig,
  RunnerReport,
} from './instructions-types.ts';

/** Iterations of the busy loop per injected chunk. */
export const SPIN_CHUNK = 1024;

/** spin() calls made before every warm-up, so that injected chunks run optimized code. */
export const SPIN_WARMUP = 2_000;

/** Marks made per run: before and after each of the two segments. */
export const MARKS = 4;

let sink = 1;

/** Deterministic integer work that TurboFan cannot remove (the result is kept). */
export function spin(iterations: number): void {
  let x = sink;
  for (let j = 0; j < iterations; j++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  sink = x;
}

/**
 * The accumulator counts in 1/100,000 of a chunk, in small integers: a fractional double would
 * make V8 compile the loop differently with a slowdown injected than without (26-36 more
 * instructions per call measured), and the injection would not be the only change.
 */
export const CHUNK_UNITS = 100_000;

export function chunkUnits(chunksPerCall: number): number {
  return Math.round(chunksPerCall * CHUNK_UNITS);
}

/** A counting boundary: callgrind dumps before uv_os_getpriority. */
export function mark(): void {
  os.getPriority(0);
}

/** The counting loop's shape: sync for sync operations, awaiting for the others. */
export type Loop = (
  op: InstructionOperation,
  state: unknown,
  from: number,
  count: number,
  extra: number,
) => number | Promise<number>;

/**
 * The loop both the counted run and the timed run use: `count` calls from index `from`, and after
 * each call the injected extra work (whole chunks, spread evenly: 0.25 spins one chunk every
 * fourth call, 3 spins three per call). The accumulator runs whether or not anything is
 * injected, so that injection changes only the chunks spun.
 */
export function loopSync(
  op: InstructionOperation,
  state: unknown,
  from: number,
  count: number,
  extra: number,
): number {
  const step = chunkUnits(extra);
  let acc = 0;
  let spun = 0;
  for (let i = from; i < from + count; i++) {
    op.run(state, i);
    acc += step;
    while (acc >= CHUNK_UNITS) {
      acc -= CHUNK_UNITS;
      spun++;
      spin(SPIN_CHUNK);
    }
  }
  return spun;
}

/** loopSync for operations that return a promise: each call is awaited before the next. */
export async function loopAsync(
  op: InstructionOperation,
  state: unknown,
  from: number,
  count: number,
  extra: number,
): Promise<number> {
  const step = chunkUnits(extra);
  let acc = 0;
  let spun = 0;
  for (let i = from; i < from + count; i++) {
    await op.run(state, i);
    acc += step;
    while (acc >= CHUNK_UNITS) {
      acc -= CHUNK_UNITS;
      spun++;
      spin(SPIN_CHUNK);
    }
  }
  return spun;
}

/** True when the operation returns a promise (decided by its first call). */
export async function firstCall(op: InstructionOperation, state: unknown): Promise<boolean> {
  const r = op.run(state, 0) as { then?: unknown } | undefined;
  if (r && typeof r.then === 'function') {
    await r;
    return true;
  }
  return false;
}

/** Calls into the loop per warm-up, so that the loop itself (not only its on-stack replacement) is optimized. */
export const WARMUP_ROUNDS = 50;

/**
 * The warm-up: the same loop and injection as the counted segments, entered WARMUP_ROUNDS times so
 * that V8 optimizes the loop function as a whole and a segment does not start in the interpreter
 * and recompile on the way. Returns the next call index.
 */
export async function warmUp(
  loop: Loop,
  op: InstructionOperation,
  state: unknown,
  calls: number,
  extra: number,
): Promise<number> {
  let at = 1;
  for (let r = 0; r < WARMUP_ROUNDS; r++) {
    const count = Math.floor((calls * (r + 1)) / WARMUP_ROUNDS) - Math.floor((calls * r) / WARMUP_ROUNDS);
    await loop(op, state, at, count, extra);
    at += count;
  }
  return at;
}

/** The real clock, kept for the segment bounds (GC entries carry real times). */
const realNow = performance.now.bind(performance);

/** Milliseconds the stepped clock advances per read (10 µs). */
export const CLOCK_STEP_MS = 0.01;

/**
 * Replaces performance.now() and Date.now() (this process only: the counting child) with clocks
 * that advance CLOCK_STEP_MS per read from fixed origins, so that clock-dependent work is the same
 * in every run.
 */
export function installSteppedClock(): void {
  let perf = 1_000;
  let wall = Date.UTC(2026, 0, 1);
  performance.now = () => {
    perf += CLOCK_STEP_MS;
    return perf;
  };
  Date.now = () => {
    wall += CLOCK_STEP_MS;
    return Math.floor(wall);
  };
}

/** Start times of V8's garbage collections from now on (read after a turn of the event loop). */
function watchCollections(): { stop(): Promise<number[]> } {
  const starts: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) starts.push(entry.startTime);
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    async stop() {
      await new Promise((resolve) => setImmediate(resolve));
      observer.disconnect();
      return starts;
    },
  };
}

/**
 * Empties the young generation (two scavenges: the second promotes what the first kept) so that
 * each segment starts with the same allocation headroom. Not a full collection: that would also
 * drop optimized code whose maps died, and every segment would start by recompiling.
 */
function collectGarbage(): void {
  const gc = (globalThis as { gc?: (options: { type: 'minor' }) => void }).gc;
  gc?.({ type: 'minor' });
  gc?.({ type: 'minor' });
}

/**
 * Tells the orchestrator that setup and warm-up are done, then blocks on stdin until it answers
 * that callgrind's instrumentation is on. Blocking (not polling) keeps the process's state at the
 * first mark the same in every run.
 */
function handshake(): void {
  // fs, not process.stdout: a stream write here would teach the stream functions a map that the
  // operation's own streams (fastify's inject) then deoptimize on.
  writeSync(1, '{"ready":true}\n');
  const buf = Buffer.alloc(64);
  for (;;) {
    try {
      if (readSync(0, buf, 0, buf.length, null) > 0) return;
      throw new Error('stdin closed before the go-ahead');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    }
  }
}

/** Runs one operation's counted segments; returns what the orchestrator checks. */
export async function runCounted(workload: InstructionWorkload, config: RunnerConfig): Promise<RunnerReport> {
  const op = workload.operations[config.op];
  if (!op) {
    throw new Error(
      `${config.workload} has no operation "${config.op}"; it has ${Object.keys(workload.operations).join(', ')}`,
    );
  }
  if (op.clock === 'stepped') installSteppedClock();
  const state = await op.setup();
  // With a slowdown injected, the loop spins rarely (every 300th call for a tiny operation): warm
  // spin() up first, in every run, or those few calls would run it unoptimized at several times
  // the cost the calibration measured.
  for (let k = 0; k < SPIN_WARMUP; k++) spin(SPIN_CHUNK);
  let spun = 0;
  let isAsync = false;
  const collections = watchCollections();
  const bounds: number[] = [];
  const boundary = () => {
    mark();
    bounds.push(realNow());
  };
  try {
    isAsync = await firstCall(op, state);
    const loop: Loop = isAsync ? loopAsync : loopSync;
    let at = await warmUp(loop, op, state, config.warmup, config.extraChunks);
    handshake();
    // Each segment starts with an empty young generation; sized by NODE_FLAGS, it normally lasts
    // the whole segment without a collection (the runner reports any).
    collectGarbage();
    boundary();
    spun += await loop(op, state, at, config.n, config.extraChunks);
    boundary();
    at += config.n;
    collectGarbage();
    boundary();
    spun += await loop(op, state, at, 3 * config.n, config.extraChunks);
    boundary();
  } finally {
    await op.teardown?.(state);
  }
  const gc = await collections.stop();
  const within = (from: number, to: number) => gc.filter((t) => t >= from && t <= to).length;
  return {
    ok: true,
    op: config.op,
    n: config.n,
    warmup: config.warmup,
    async: isAsync,
    marks: MARKS,
    chunksSpun: spun,
    collections: [within(bounds[0]!, bounds[1]!), within(bounds[2]!, bounds[3]!)],
  };
}

/** Entry for a runner process: the config is the last argv element (JSON). */
export async function runnerMain(workload: InstructionWorkload | undefined): Promise<void> {
  const config = JSON.parse(process.argv[process.argv.length - 1] ?? '{}') as RunnerConfig;
  const mod = workload ?? ((await import(config.workload)) as InstructionWorkload);
  const report = await runCounted(mod, config);
  writeSync(1, `${JSON.stringify(report)}\n`);
}
