import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AGREEMENT,
  agreementVerdict,
  cyclesEstimate,
  instructionsUnavailableReason,
  linearity,
  linearityVerdict,
  measureInstructions,
  perOpFromSegments,
  spreadOf,
  type ToolLookup,
} from './instructions.ts';
import { parseCallgrindOut, readParts, segments } from './instructions-callgrind.ts';
import { loopSync } from './instructions-runner.ts';

/** A callgrind out file as 3.19 writes it (trimmed): header, one cost block, totals. */
function outFile(part: number, totals: string, events = 'Ir', trigger = '--dump-before=uv_os_getpriority') {
  return [
    '# callgrind format',
    'version: 1',
    'creator: callgrind-3.19.0',
    'pid: 4242',
    'cmd:  node --predictable runner.mjs',
    `part: ${part}`,
    '',
    'desc: I1 cache: ',
    'desc: Timerange: Basic block 0 - 100',
    `desc: Trigger: ${trigger}`,
    '',
    'positions: line',
    `events: ${events}`,
    `summary: ${totals}`,
    '',
    'ob=(1) /usr/bin/node',
    'fl=(1) ???',
    'fn=(1) main',
    `0 ${totals}`,
    '',
    `totals: ${totals}`,
    '',
  ].join('\n');
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('callgrind out files', () => {
  it('reads part, trigger and the totals line', () => {
    const p = parseCallgrindOut(outFile(2, '22937370'));
    expect(p).toEqual({ part: 2, trigger: '--dump-before=uv_os_getpriority', totals: { Ir: 22937370 } });
  });

  it('names every event of a cache simulation, zero when callgrind left a trailing one out', () => {
    const p = parseCallgrindOut(
      outFile(4, '1000 300 200 10 20 5 1 2', 'Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw'),
    );
    expect(p.totals).toEqual({
      Ir: 1000,
      Dr: 300,
      Dw: 200,
      I1mr: 10,
      D1mr: 20,
      D1mw: 5,
      ILmr: 1,
      DLmr: 2,
      DLmw: 0,
    });
    expect(cyclesEstimate(p.totals)).toBe(1000 + 10 * (10 + 20 + 5) + 100 * (1 + 2 + 0));
  });

  it('falls back to summary: and refuses a file with neither', () => {
    const text = outFile(1, '77').replace(/^totals: .*$/m, '');
    expect(parseCallgrindOut(text).totals.Ir).toBe(77);
    expect(() => parseCallgrindOut('# callgrind format\nevents: Ir\n')).toThrow(/no totals/);
  });

  it('finds the n and 3n segments among the part files', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rig-cg-test-'));
    dirs.push(dir);
    const out = path.join(dir, 'callgrind.out');
    const counts = [500_000_000, 1_000_000, 40_000, 3_000_000, 7_000];
    counts.forEach((c, i) => {
      const last = i === counts.length - 1;
      writeFileSync(
        last ? out : `${out}.${i + 1}`,
        outFile(i + 1, String(c), 'Ir', last ? 'Program termination' : undefined),
      );
    });
    writeFileSync(path.join(dir, 'callgrind.out.tmp'), 'not a part');
    const parts = readParts(out);
    expect(parts.map((p) => p.part)).toEqual([1, 2, 3, 4, 5]);
    expect(segments(parts)).toEqual({ n: { Ir: 1_000_000 }, n3: { Ir: 3_000_000 } });
    expect(() => segments(parts.slice(0, 4))).toThrow(/expected 5 callgrind parts/);
  });
});

describe('instructions per operation', () => {
  it('is (I(3n) - I(n)) / 2n: what both segments share cancels', () => {
    const constant = 123_456;
    const perOp = 171.6;
    const n = 100_000;
    expect(perOpFromSegments(constant + n * perOp, constant + 3 * n * perOp, n)).toBeCloseTo(perOp, 9);
    expect(() => perOpFromSegments(1, 2, 0)).toThrow(RangeError);
  });

  it('linearity is 1 in a steady state and flags a one-off cost in the first segment', () => {
    expect(linearity(1_000_000, 3_000_000)).toBe(1);
    expect(linearityVerdict([{ iN: 1_000_000, i3N: 3_010_000 }])).toEqual({ valid: true });
    const v = linearityVerdict([{ iN: 1_500_000, i3N: 3_000_000 }]);
    expect(v.valid).toBe(false);
    if (!v.valid) expect(v.reason).toMatch(/not a steady state.*raise the operation's warmup/);
  });
});

describe('the 0.1% agreement rule', () => {
  it('accepts counts within 0.1% of each other', () => {
    expect(AGREEMENT).toBe(0.001);
    expect(agreementVerdict([171.6, 171.6])).toEqual({ valid: true, spread: 0 });
    const v = agreementVerdict([1000, 1000.9]);
    expect(v.valid).toBe(true);
    expect(v.spread).toBeCloseTo(0.0009, 9);
  });

  it('rejects counts further apart, saying by how much', () => {
    const v = agreementVerdict([1000, 1002]);
    expect(v.valid).toBe(false);
    if (!v.valid) expect(v.reason).toBe('the 2 counts differ by 0.200% (1000.00 vs 1002.00), more than 0.1%');
    expect(spreadOf([0, 1])).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('availability', () => {
  const tools = (over: Partial<ToolLookup>): ToolLookup => ({
    platform: 'linux',
    valgrindVersion: () => 'valgrind-3.19.0',
    aslrOff: () => true,
    ...over,
  });

  it('is available with valgrind and setarch on Linux', () => {
    expect(instructionsUnavailableReason(tools({}))).toBeUndefined();
  });

  it('names what is missing', () => {
    expect(instructionsUnavailableReason(tools({ valgrindVersion: () => undefined }))).toMatch(
      /valgrind not found: apt-get install -y valgrind/,
    );
    expect(instructionsUnavailableReason(tools({ aslrOff: () => false }))).toMatch(/setarch -R/);
    expect(instructionsUnavailableReason(tools({ platform: 'darwin' }))).toMatch(/this is darwin/);
  });

  it('makes a count a skip with the reason, never a failure', async () => {
    const result = await measureInstructions({
      id: 'x.noop',
      workload: path.join(import.meta.dirname, 'instructions-calibration.ts'),
      op: 'noop',
      what: 'nothing',
      tools: tools({ valgrindVersion: () => undefined }),
    });
    expect(result).toEqual({ state: 'skipped', reason: expect.stringMatching(/valgrind not found/) });
  });
});

describe('the counting loop', () => {
  it('spreads injected chunks evenly: 0.25 per call spins every fourth call, 2.5 two or three per call', () => {
    const op = { setup: () => 0, run: () => undefined };
    expect(loopSync(op, 0, 0, 1000, 0)).toBe(0);
    expect(loopSync(op, 0, 0, 1000, 0.25)).toBe(250);
    expect(loopSync(op, 0, 0, 1000, 2.5)).toBe(2500);
  });
});
