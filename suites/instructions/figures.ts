// What the instruction suites share (not a test file): which figures a profile counts, and one
// vitest case per counted operation. Workloads live in ./workloads/<system>.ts.
import path from 'node:path';
import { expect, it } from 'vitest';
import {
  type Figure,
  type InstructionsResult,
  instructionsUnavailableReason,
  profile,
  recordFigure,
  recordInstructions,
} from '../../harness/index.ts';

/** The figures smoke counts (valgrind runs ~50x slower: three fit in a minute). */
export const SMOKE_FIGURES: ReadonlySet<string> = new Set([
  'state-store.get.0subs',
  'state-store.set.0subs',
  'queue.raw.64B',
]);

export function workloadPath(system: string): string {
  return path.join(import.meta.dirname, 'workloads', `${system}.ts`);
}

/** Why this figure is not counted in this run, or undefined when it is. */
export function skipReason(id: string): string | undefined {
  const unavailable = instructionsUnavailableReason();
  if (unavailable) return unavailable;
  if (profile().name === 'smoke' && !SMOKE_FIGURES.has(id)) {
    return `the smoke profile counts ${[...SMOKE_FIGURES].join(', ')}; the bench profile counts every figure`;
  }
  return undefined;
}

export interface Counted {
  result: Extract<InstructionsResult, { state: 'counted' }>;
  instructions: Figure;
  time?: Figure;
}

/**
 * One test that counts `op` of the system's workload as `<id>.instructions` beside its time
 * figure; counted results go into `into` (for derived figures). Cache simulation in bench only.
 */
export function countIt(
  system: string,
  id: string,
  op: string,
  what: string,
  into?: Map<string, Counted>,
): void {
  it(`${id}: ${what}`, async (ctx) => {
    const reason = skipReason(id);
    if (reason) return ctx.skip(reason);
    const { result, figures } = await recordInstructions({
      id,
      workload: workloadPath(system),
      op,
      what,
      cacheSim: profile().name === 'bench',
    });
    if (result.state === 'skipped') return ctx.skip(result.reason);
    expect(result.state).toBe('counted');
    if (result.state !== 'counted') return;
    expect(result.perOp).toBeGreaterThan(0);
    const instructions = figures.find((f) => f.id === `${id}.instructions`)!;
    const time = figures.find((f) => f.id === `${id}.instructions.time`);
    into?.set(id, { result, instructions, ...(time ? { time } : {}) });
  });
}

/**
 * A figure derived from two counted ones: (big - small) / units, e.g. one fan-out delivery from
 * set() with 100 and with 0 subscribers. Its time twin is derived the same way.
 */
export async function recordDifference(
  id: string,
  big: Counted,
  small: Counted,
  units: number,
  what: string,
): Promise<void> {
  const valid = big.instructions.valid && small.instructions.valid;
  const timeId = `${id}.instructions.time`;
  await recordFigure({
    id: `${id}.instructions`,
    value: (big.result.perOp - small.result.perOp) / units,
    unit: big.instructions.unit,
    better: 'lower',
    n: Math.min(big.instructions.n, small.instructions.n),
    method: `${what}: (${big.instructions.id} - ${small.instructions.id}) / ${units}, both counted by callgrind in this run. The gate judges this count; its time figure is ${timeId}`,
    ...(valid ? {} : { valid: false, invalidReason: 'one of the two counts it is derived from is invalid' }),
    labels: {
      pairedTime: timeId,
      judged: 'instructions (fixed 1% band)',
      derivedFrom: `${big.instructions.id},${small.instructions.id}`,
    },
  });
  if (big.time && small.time) {
    await recordFigure({
      id: timeId,
      value: (big.time.value - small.time.value) / units,
      unit: big.time.unit,
      better: 'lower',
      n: Math.min(big.time.n, small.time.n),
      method: `${what}, native time: (${big.time.id} - ${small.time.id}) / ${units}; beside ${id}.instructions, which the gate judges`,
      labels: { pairedInstructions: `${id}.instructions`, timing: 'amortised' },
    });
  }
}
