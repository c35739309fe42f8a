import { describe, expect, it } from 'vitest';
import type { Figure } from '../measure/figure.ts';
import type { RunData } from '../report/run-data.ts';
import { baselineRefusals } from './acceptance.ts';
import { baselineFromFigures, machineMismatch } from './baseline.ts';
import { calibrateBaseline, leaveOneOut } from './calibrate.ts';
import { describeChange, evaluateGate } from './evaluate.ts';
import { parseThresholds } from './thresholds.ts';

function fig(id: string, value: number, extra: Partial<Figure> = {}): Figure {
  return {
    id,
    system: id.split('.')[0]!,
    suite: 'latency',
    value,
    unit: 'us',
    better: 'lower',
    n: 1000,
    method: 'test',
    valid: true,
    runId: 'r',
    profile: 'smoke',
    at: '2026-01-01T00:00:00Z',
    ...extra,
  };
}

/** Five A/A runs of twenty figures, each moving a few percent from run to run. */
function aaRuns(count = 5) {
  const wobble = [1, 1.03, 0.98, 1.01, 0.97, 1.02, 0.99];
  return Array.from({ length: count }, (_, r) => ({
    runId: `run${r}`,
    figures: Array.from({ length: 20 }, (_, i) =>
      fig(`s.op${i}.p50`, (10 + i) * wobble[(r + i) % wobble.length]!),
    ),
  }));
}

const opts = { profile: 'smoke', tolerance: 0.35 };

describe('calibrated baseline', () => {
  it('keeps per figure the median over runs, the between-run spread, the runs and the values', () => {
    const baseline = calibrateBaseline(aaRuns(), { profile: 'smoke', commit: 'abc' });
    const e = baseline.figures['s.op0.p50']!;
    expect(e.value).toBeCloseTo(10 * 1.0, 6);
    expect(e.runs).toBe(5);
    expect(e.values).toHaveLength(5);
    expect(e.scale).toBe('log');
    expect(e.spread).toBeGreaterThan(0.01);

    expect(baseline.calibration?.runIds).toEqual(['run0', 'run1', 'run2', 'run3', 'run4']);
  });

  it('passes a run inside the noise and flags one far outside it, naming its detectable effect', () => {
    const baseline = calibrateBaseline(aaRuns(), { profile: 'smoke' });
    const same = evaluateGate(aaRuns(6)[5]!.figures, [], baseline, opts);
    expect(same.exitCode).toBe(0);
    expect(same.verdicts.every((v) => v.judgedBy === 'noise' && v.mde! > 0)).toBe(true);
    const slowed = aaRuns(6)[5]!.figures.map((f) =>
      f.id === 's.op3.p50' ? { ...f, value: f.value * 3 } : f,
    );
    const result = evaluateGate(slowed, [], baseline, opts);
    expect(result.exitCode).toBe(1);
    const v = result.verdicts.find((x) => x.id === 's.op3.p50')!;
    expect(v.state).toBe('regressed');
    expect(v.why).toMatch(/worse by 2\d\d\.\d%/);
    expect(result.family?.figures).toBe(20);
  });

  it('judges signed values near zero on absolute differences and says so in the unit', () => {
    const growth = [-1.25, 0.5, 1.1, -0.4, 0.2];
    const runs = growth.map((g, r) => ({
      runId: `r${r}`,
      figures: [fig('svc.rss.growth', g, { unit: 'MiB' })],
    }));
    const baseline = calibrateBaseline(runs, { profile: 'smoke' });
    expect(baseline.figures['svc.rss.growth']!.scale).toBe('linear');
    const v = evaluateGate([fig('svc.rss.growth', 10.4, { unit: 'MiB' })], [], baseline, opts).verdicts[0]!;
    expect(v.scale).toBe('linear');
    expect(describeChange(v)).toBe('worse by 10.2 MiB');
    expect(v.state).toBe('regressed');
  });

  it('gives a figure with neither a calibrated spread nor an interval no verdict', () => {
    const single = baselineFromFigures([fig('s.op.count', 3, { unit: 'count' })], {
      profile: 'smoke',
      runId: 'a',
    });
    const v = evaluateGate([fig('s.op.count', 9, { unit: 'count' })], [], single, opts);
    expect(v.verdicts[0]!.state).toBe('invalid');
    expect(v.verdicts[0]!.why).toMatch(/neither a calibrated between-run spread nor a within-run interval/);
    expect(v.exitCode).toBe(2);
  });

  it('judges instruction counts on a 1% band without calibration', () => {
    const i = (v: number) => fig('s.op.instructions', v, { unit: 'instr/op' });
    const baseline = baselineFromFigures([i(1000)], { profile: 'bench', runId: 'a' });
    expect(evaluateGate([i(1005)], [], baseline, opts).verdicts[0]!.state).toBe('pass');
    expect(evaluateGate([i(1020)], [], baseline, opts).verdicts[0]).toMatchObject({
      state: 'regressed',
      judgedBy: 'band',
    });
  });

  it('keeps calibrated spreads when --update-baseline re-centres on one run', () => {
    const calibrated = calibrateBaseline(aaRuns(), { profile: 'smoke' });
    const next = baselineFromFigures(aaRuns(6)[5]!.figures, { profile: 'smoke', runId: 'new' }, calibrated);
    expect(next.figures['s.op1.p50']!.spread).toBe(calibrated.figures['s.op1.p50']!.spread);
    expect(next.figures['s.op1.p50']!.value).not.toBe(calibrated.figures['s.op1.p50']!.value);
    expect(next.calibration).toEqual(calibrated.calibration);
  });

  it('grows a calibration with more runs of the same commit', () => {
    const first = calibrateBaseline(aaRuns(5).slice(0, 3), { profile: 'smoke', commit: 'abc' });
    const grown = calibrateBaseline(aaRuns(5).slice(3), { profile: 'smoke', commit: 'abc' }, first);
    const all = calibrateBaseline(aaRuns(5), { profile: 'smoke', commit: 'abc' });
    expect(grown.figures['s.op2.p50']!.runs).toBe(5);
    expect(grown.figures['s.op2.p50']!.spread).toBeCloseTo(all.figures['s.op2.p50']!.spread!, 12);
    expect(grown.calibration?.runIds).toEqual(all.calibration?.runIds);
  });

  it('judges nothing against a baseline from another machine, and says which difference', () => {
    const here = { cpu: 'AMD EPYC 7B13', cores: 2, node: 'v20.20.2' };
    const baseline = calibrateBaseline(aaRuns(), { profile: 'smoke', machine: here });
    expect(machineMismatch(baseline.machine, here)).toBeUndefined();
    const why = machineMismatch(baseline.machine, { ...here, cores: 4 })!;
    expect(why).toContain('2 vs 4 cores');
    const result = evaluateGate(aaRuns(6)[5]!.figures, [], baseline, { ...opts, baselineUnusable: why });
    expect(result.verdicts.every((v) => v.state === 'invalid' && v.why.includes('another machine'))).toBe(
      true,
    );
    // Re-centred on another machine, the baseline drops the spreads measured here.
    const moved = baselineFromFigures(
      aaRuns(1)[0]!.figures,
      { profile: 'smoke', runId: 'x', machine: { ...here, node: 'v22.1.0' } },
      baseline,
    );
    expect(moved.figures['s.op1.p50']!.spread).toBeUndefined();
  });

  it('counts leave-one-out A/A false alarms', () => {
    const loo = leaveOneOut(aaRuns(), opts);
    expect(loo.evaluations).toBe(5);
    expect(loo.falseAlarms).toBe(0);
  });
});

describe('baseline acceptance', () => {
  const run = (meta: Partial<RunData['meta']>, figures: Figure[] = []): RunData => ({
    dir: '/tmp/x',
    meta: {
      runId: 'r1',
      profile: 'smoke',
      startedAt: '',
      argv: [],
      files: [],
      environment: {},
      tests: { passed: 3, failed: 0, skipped: 0, total: 3 },
      vitestExitCode: 0,
      ...meta,
    },
    figures,
    rejected: [],
    verdicts: undefined,
  });

  it('accepts a clean run and refuses failed tests, breaches and injected slowdowns, saying why', () => {
    expect(baselineRefusals(run({}), [])).toEqual([]);
    expect(baselineRefusals(run({ tests: { passed: 2, failed: 1, skipped: 0, total: 3 } }), [])).toEqual([
      '1 test failed',
    ]);
    // A browser suite that did not load fails no counted test, but @playwright/test says so.
    expect(baselineRefusals(run({ playwrightExitCode: 1 }), [])).toEqual(['@playwright/test exited with 1']);
    expect(baselineRefusals(run({ injected: { slowdown: 0.15 } }), [])[0]).toContain(
      'injected slowdown of 0.15',
    );
    const rules = parseThresholds({ 's.op.p50': ['< 5us'] }, 't.json');
    expect(baselineRefusals(run({}, [fig('s.op.p50', 9)]), rules)[0]).toBe('1 threshold breach (s.op.p50)');
  });
});
