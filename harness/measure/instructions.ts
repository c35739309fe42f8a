// Deterministic cost figures: instructions per operation, counted by callgrind, the same from run
// to run on a loaded machine. One operation of a workload module (instructions-types.ts) runs in
// a child process under `setarch -R valgrind --tool=callgrind node --predictable --hash-seed=1
// --random-seed=1`; the figure is (I(3n) - I(n)) / 2n from two counted segments of n and 3n calls,
// counted twice, beside a native time figure of the same operation. See docs/instructions.md.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { profile } from '../config/profile.ts';
import { REPO_ROOT } from '../systems/registry.ts';
import type { Figure } from './figure.ts';
import { bundleRunner } from './instructions-bundle.ts';
import { type CountResult, countOnce, type EventTotals, NODE_FLAGS } from './instructions-callgrind.ts';
import { SPIN_CHUNK } from './instructions-runner.ts';
import { timePerOp } from './instructions-time.ts';
import type { InstructionOperation, InstructionWorkload } from './instructions-types.ts';
import { recordFigure } from './record.ts';
import { injectedSlowdown } from './slowdown.ts';

export const INSTRUCTION_UNIT = 'instr/op';
export const CYCLES_UNIT = 'cycles/op';
/** Two counts of one figure may differ by this share at most, or the figure is invalid. */
export const AGREEMENT = 0.001;
/**
 * The 3n segment's cost per call may differ from the n segment's by this share at most, or the
 * operation had not reached a steady state (tiering, a collection) and the figure is invalid.
 */
export const LINEARITY = 0.03;
export const DEFAULT_N = 10_000;
export const DEFAULT_WARMUP = 2_000;
/** The cycle estimate, CodSpeed-style: each L1 miss ~10 cycles, each last-level miss ~100. */
export const CYCLES_FORMULA = 'Ir + 10*(I1mr + D1mr + D1mw) + 100*(ILmr + DLmr + DLmw)';

// ---- availability ----

/** How the availability check looks at the machine (tests pass a fake). */
export interface ToolLookup {
  platform: NodeJS.Platform;
  /** `valgrind --version`, or undefined when it does not run. */
  valgrindVersion(): string | undefined;
  /** True when `setarch -R true` succeeds (address-space randomisation can be turned off). */
  aslrOff(): boolean;
}

function firstLine(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 })
      .split('\n')[0]
      ?.trim();
  } catch {
    return undefined;
  }
}

export const SYSTEM_TOOLS: ToolLookup = {
  platform: process.platform,
  valgrindVersion: () => firstLine('valgrind', ['--version']),
  aslrOff: () => firstLine('setarch', ['-R', 'true']) !== undefined,
};

let cachedReason: { reason: string | undefined } | undefined;

/** Why instruction figures cannot be counted here, or undefined when they can. */
export function instructionsUnavailableReason(lookup: ToolLookup = SYSTEM_TOOLS): string | undefined {
  if (lookup === SYSTEM_TOOLS && cachedReason) return cachedReason.reason;
  let reason: string | undefined;
  if (lookup.platform !== 'linux') {
    reason = `instruction counts need valgrind on Linux; this is ${lookup.platform}`;
  } else if (!lookup.valgrindVersion()) {
    reason = 'valgrind not found: apt-get install -y valgrind (instruction counts run under callgrind)';
  } else if (!lookup.aslrOff()) {
    reason = '`setarch -R` fails: address-space randomisation cannot be turned off, so counts would drift';
  }
  if (lookup === SYSTEM_TOOLS) cachedReason = { reason };
  return reason;
}

// ---- arithmetic ----

/** Instructions per call from the two segments: (I(3n) - I(n)) / 2n; constant costs cancel. */
export function perOpFromSegments(iN: number, i3N: number, n: number): number {
  if (!(n > 0)) throw new RangeError(`n must be positive, got ${n}`);
  return (i3N - iN) / (2 * n);
}

/** Relative spread of repeated counts: (max - min) / min. */
export function spreadOf(values: readonly number[]): number {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  if (lo === hi) return 0;
  return lo > 0 ? (hi - lo) / lo : Number.POSITIVE_INFINITY;
}

/** The agreement rule: repeated counts of one figure within AGREEMENT of each other. */
export function agreementVerdict(
  values: readonly number[],
  limit = AGREEMENT,
): { valid: true; spread: number } | { valid: false; spread: number; reason: string } {
  const spread = spreadOf(values);
  if (spread <= limit) return { valid: true, spread };
  return {
    valid: false,
    spread,
    reason: `the ${values.length} counts differ by ${(spread * 100).toFixed(3)}% (${values.map((v) => v.toFixed(2)).join(' vs ')}), more than ${(limit * 100).toFixed(1)}%`,
  };
}

/** Cost per call of the 3n segment over that of the n segment: 1 in a steady state. */
export function linearity(iN: number, i3N: number): number {
  return iN > 0 ? i3N / 3 / iN : Number.NaN;
}

/** The steady-state rule: every run's segments within LINEARITY of proportional. */
export function linearityVerdict(
  runs: ReadonlyArray<{ iN: number; i3N: number }>,
  limit = LINEARITY,
): { valid: true } | { valid: false; reason: string } {
  for (const r of runs) {
    const l = linearity(r.iN, r.i3N);
    if (!(Math.abs(l - 1) <= limit)) {
      return {
        valid: false,
        reason: `not a steady state: a call cost ${((l - 1) * 100).toFixed(1)}% more in the 3n segment than in the n segment (${r.iN} vs ${r.i3N} instructions); raise the operation's warmup or lower its n`,
      };
    }
  }
  return { valid: true };
}

/** Estimated cycles from callgrind's cache simulation (CYCLES_FORMULA). */
export function cyclesEstimate(t: EventTotals): number {
  const l1 = (t.I1mr ?? 0) + (t.D1mr ?? 0) + (t.D1mw ?? 0);
  const ll = (t.ILmr ?? 0) + (t.DLmr ?? 0) + (t.DLmw ?? 0);
  return (t.Ir ?? 0) + 10 * l1 + 100 * ll;
}

// ---- counting ----

export interface InstructionsOptions {
  /** Figure id prefix `<system>.<operation>[.<variant>]`: gives `<id>.instructions`. */
  id: string;
  /** Absolute path of the workload module (suites/instructions/workloads/<system>.ts). */
  workload: string;
  /** The operation's key in the module's `operations`. */
  op: string;
  /** One clause: what one operation does, for the figure's method. */
  what: string;
  /** Also estimate cycles with callgrind's cache simulation (slower). Default false. */
  cacheSim?: boolean;
  /** `bundle` (default: the runner built into one module with esbuild) or `tsx` (its loader). */
  loader?: 'bundle' | 'tsx';
  /** Time rounds of the paired time figure; 0 records no time figure. Default 10, 30 in bench. */
  timeRounds?: number;
  /** Time the paired figure past timeRounds until it has the profile's minimum samples, within this. Default 10 s, 30 s in bench. */
  timeBudgetMs?: number;
  /** Override the operation's n and warm-up (experiments, tests). */
  n?: number;
  warmup?: number;
  /** Limit for one counting process. Default 10 minutes. */
  timeoutMs?: number;
  /** How to look for valgrind and setarch (tests pass a fake). Default: this machine. */
  tools?: ToolLookup;
}

export interface CountRun {
  iN: number;
  i3N: number;
  /** Instructions per unit of work. */
  perOp: number;
  cyclesPerOp?: number;
  /** linearity(iN, i3N): 1 when both segments cost the same per call. */
  linearity: number;
  /** Garbage collections inside the n and the 3n segment (normally none). */
  collections: [number, number];
  wallMs: number;
}

export type InstructionsResult =
  | { state: 'skipped'; reason: string }
  | { state: 'errored'; error: string }
  | {
      state: 'counted';
      perOp: number;
      cyclesPerOp?: number;
      runs: CountRun[];
      spread: number;
      valid: boolean;
      invalidReason?: string;
      n: number;
      warmup: number;
      unitsPerCall: number;
      /** With --inject-slowdown: the uninjected count and the extra work added per call. */
      injected?: { fraction: number; basePerOp: number; chunksPerCall: number; chunkInstructions: number };
      wallMs: number;
    };

interface Resolved {
  op: InstructionOperation;
  n: number;
  warmup: number;
  unitsPerCall: number;
}

async function resolveOperation(workload: string, name: string): Promise<Resolved> {
  const mod = (await import(workload)) as InstructionWorkload;
  const op = mod.operations?.[name];
  if (!op) {
    throw new Error(
      `${workload} has no operation "${name}"; it has ${Object.keys(mod.operations ?? {}).join(', ')}`,
    );
  }
  return {
    op,
    n: op.n ?? DEFAULT_N,
    warmup: op.warmup ?? DEFAULT_WARMUP,
    unitsPerCall: op.unitsPerCall ?? 1,
  };
}

async function countRun(
  options: InstructionsOptions,
  r: Resolved,
  extraChunks: number,
  cacheSim: boolean,
): Promise<CountRun> {
  const tsx = options.loader === 'tsx';
  const entry = tsx
    ? path.join(import.meta.dirname, 'instructions-entry.ts')
    : await bundleRunner(options.workload);
  const result: CountResult = await countOnce({
    entry,
    nodeArgs: tsx ? ['--import', 'tsx'] : [],
    config: { workload: options.workload, op: options.op, n: r.n, warmup: r.warmup, extraChunks },
    cacheSim,
    timeoutMs: options.timeoutMs ?? 600_000,
    cwd: REPO_ROOT,
  });
  const perCall = perOpFromSegments(result.n.Ir ?? 0, result.n3.Ir ?? 0, r.n);
  return {
    iN: result.n.Ir ?? 0,
    i3N: result.n3.Ir ?? 0,
    perOp: perCall / r.unitsPerCall,
    ...(cacheSim
      ? {
          cyclesPerOp:
            perOpFromSegments(cyclesEstimate(result.n), cyclesEstimate(result.n3), r.n) / r.unitsPerCall,
        }
      : {}),
    linearity: linearity(result.n.Ir ?? 0, result.n3.Ir ?? 0),
    collections: result.report.collections,
    wallMs: result.wallMs,
  };
}

let chunkCost: Promise<number> | undefined;

/** Instructions one injected spin chunk adds to a call (the calibration workload, counted once). */
export function spinChunkInstructions(): Promise<number> {
  chunkCost ??= (async () => {
    const options: InstructionsOptions = {
      id: 'harness.noop',
      workload: path.join(import.meta.dirname, 'instructions-calibration.ts'),
      op: 'noop',
      what: 'nothing',
    };
    const r = await resolveOperation(options.workload, options.op);
    const plain = await countRun(options, r, 0, false);
    const spun = await countRun(options, r, 1, false);
    return spun.perOp - plain.perOp;
  })();
  return chunkCost;
}

/** Counts one operation twice (with any injected slowdown); failures are data, not exceptions. */
export async function measureInstructions(options: InstructionsOptions): Promise<InstructionsResult> {
  const unavailable = instructionsUnavailableReason(options.tools);
  if (unavailable) return { state: 'skipped', reason: unavailable };
  const started = performance.now();
  try {
    const r = await resolveOperation(options.workload, options.op);
    if (options.n !== undefined) r.n = options.n;
    if (options.warmup !== undefined) r.warmup = options.warmup;
    const fraction = injectedSlowdown();
    let injected: Extract<InstructionsResult, { state: 'counted' }>['injected'];
    let extraChunks = 0;
    if (fraction > 0) {
      const base = await countRun(options, r, 0, false);
      const chunkInstructions = await spinChunkInstructions();
      extraChunks = (fraction * base.perOp * r.unitsPerCall) / chunkInstructions;
      injected = { fraction, basePerOp: base.perOp, chunksPerCall: extraChunks, chunkInstructions };
    }
    const cacheSim = options.cacheSim ?? false;
    const runs = [
      await countRun(options, r, extraChunks, cacheSim),
      await countRun(options, r, extraChunks, cacheSim),
    ];
    const agreement = agreementVerdict(runs.map((x) => x.perOp));
    const steady = linearityVerdict(runs);
    const verdict = !agreement.valid
      ? agreement
      : !steady.valid
        ? { ...steady, spread: agreement.spread }
        : agreement;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return {
      state: 'counted',
      perOp: mean(runs.map((x) => x.perOp)),
      ...(cacheSim ? { cyclesPerOp: mean(runs.map((x) => x.cyclesPerOp ?? 0)) } : {}),
      runs,
      spread: verdict.spread,
      valid: verdict.valid,
      ...(verdict.valid ? {} : { invalidReason: verdict.reason }),
      n: r.n,
      warmup: r.warmup,
      unitsPerCall: r.unitsPerCall,
      ...(injected ? { injected } : {}),
      wallMs: performance.now() - started,
    };
  } catch (error) {
    return { state: 'errored', error: (error as Error).message };
  }
}

// ---- figures ----

export interface RecordedInstructions {
  result: InstructionsResult;
  figures: Figure[];
}

/**
 * Counts one operation and records `<id>.instructions` (instr/op, lower is better), with
 * `cacheSim` `<id>.cycles_est`, and the paired native time `<id>.instructions.time` (ns).
 * A skip returns the reason (the caller skips its test with it); an error throws.
 */
export async function recordInstructions(options: InstructionsOptions): Promise<RecordedInstructions> {
  const result = await measureInstructions(options);
  if (result.state === 'skipped') return { result, figures: [] };
  if (result.state === 'errored') throw new Error(`${options.id}.instructions: ${result.error}`);
  const instrId = `${options.id}.instructions`;
  const timeId = `${options.id}.instructions.time`;
  const rounds = options.timeRounds ?? (profile().name === 'bench' ? 30 : 10);
  const figures: Figure[] = [];
  const how =
    `(I(3n) - I(n)) / 2n, n = ${result.n} calls after ${result.warmup} warm-up calls` +
    `${result.unitsPerCall > 1 ? `, ${result.unitsPerCall} per call` : ''}; whole process counted ` +
    `(native code included) by callgrind under setarch -R, node ${NODE_FLAGS.join(' ')}; counted twice, ` +
    `spread ${(result.spread * 100).toFixed(4)}%`;
  const injected = result.injected
    ? `; injected slowdown ${result.injected.fraction}: ${result.injected.chunksPerCall.toFixed(4)} spin chunks of ${SPIN_CHUNK} iterations per call on a base of ${result.injected.basePerOp.toFixed(2)} instr/op`
    : '';
  const labels: Record<string, string> = {
    ...(rounds > 0 ? { pairedTime: timeId } : {}),
    judged: 'instructions (fixed 1% band)',
    runs: result.runs.map((x) => x.perOp.toFixed(3)).join(','),
    counts: result.runs.map((x) => `${x.iN}/${x.i3N}`).join(','),
    spread: result.spread.toExponential(3),
    linearity: result.runs.map((x) => x.linearity.toFixed(4)).join(','),
    collections: result.runs.map((x) => x.collections.join('+')).join(','),
    ...(result.injected ? { injected: String(result.injected.fraction) } : {}),
  };
  figures.push(
    await recordFigure({
      id: instrId,
      value: result.perOp,
      unit: INSTRUCTION_UNIT,
      better: 'lower',
      n: 2 * result.n * result.unitsPerCall,
      method: `callgrind instructions per ${options.what}: ${how}${injected}. The gate judges this count; its time figure is ${timeId}`,
      ...(result.valid ? {} : { valid: false, invalidReason: result.invalidReason }),
      labels,
    }),
  );
  if (result.cyclesPerOp !== undefined) {
    figures.push(
      await recordFigure({
        id: `${options.id}.cycles_est`,
        value: result.cyclesPerOp,
        unit: CYCLES_UNIT,
        better: 'lower',
        n: 2 * result.n * result.unitsPerCall,
        method: `estimated cycles per ${options.what} from callgrind's cache simulation: ${CYCLES_FORMULA}, same segments as ${instrId}`,
        ...(result.valid ? {} : { valid: false, invalidReason: result.invalidReason }),
        labels: { pairedInstructions: instrId, formula: CYCLES_FORMULA },
      }),
    );
  }
  if (rounds > 0) {
    const r = await resolveOperation(options.workload, options.op);
    const t = await timePerOp(r.op, {
      rounds,
      calls: r.n,
      warmup: r.warmup,
      unitsPerCall: r.unitsPerCall,
      minUnits: profile().minSamples,
      budgetMs: options.timeBudgetMs ?? (profile().name === 'bench' ? 30_000 : 10_000),
    });
    figures.push(
      await recordFigure({
        id: timeId,
        value: t.mean,
        unit: 'ns',
        better: 'lower',
        n: t.units,
        stats: t.stats,
        method: `native time per ${options.what}: mean of ${t.rounds} rounds of ${t.callsPerRound} calls after ${r.warmup} warm-up calls, in the test process, same loop as the count; beside ${instrId}, which the gate judges`,
        // One clock read around each round of calls, divided by its size.
        labels: { pairedInstructions: instrId, timing: 'amortised' },
      }),
    );
  }
  return { result, figures };
}
