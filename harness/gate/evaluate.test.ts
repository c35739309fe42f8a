import { describe, expect, it } from 'vitest';
import type { Figure } from '../measure/figure.ts';
import { baselineFromFigures } from './baseline.ts';
import { calibrateBaseline } from './calibrate.ts';
import { evaluateGate } from './evaluate.ts';
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
    stats: {
      n: 1000,
      min: value * 0.5,
      p50: value,
      p90: value,
      p95: value,
      p99: value,
      max: value * 2,
      mean: value,
      sd: 1,
      ci95: [value * 0.97, value * 1.03],
      ciMethod: 'bootstrap',
    },
    ...extra,
  };
}

const opts = { profile: 'smoke', tolerance: 0.2 };

describe('gate', () => {
  it('names a breached threshold and exits 1', () => {
    const rules = parseThresholds({ 'store.set.p99': ['< 50us'] }, 't.json');
    const result = evaluateGate([fig('store.set.p99', 80)], rules, undefined, opts);
    expect(result.exitCode).toBe(1);
    expect(result.verdicts[0]).toMatchObject({ id: 'store.set.p99', state: 'breach' });
    expect(result.verdicts[0]!.why).toContain('< 50us');
  });

  it('converts units before judging a threshold', () => {
    const rules = parseThresholds({ 'store.*.p99': ['< 0.05 ms'], 'q.tp': ['> 1e6 msg/s'] }, 't.json');
    const tp = fig('q.tp', 2_000_000, { unit: 'msg/s', better: 'higher' });
    const result = evaluateGate([fig('store.set.p99', 40), tp], rules, undefined, opts);
    expect(result.verdicts.map((v) => v.state)).toEqual(['pass', 'pass']);
    expect(result.exitCode).toBe(0);
  });

  it('passes an A/A rerun against its own baseline', () => {
    const run1 = [fig('store.set.p99', 40), fig('store.get.p99', 10)];
    const baseline = baselineFromFigures(run1, { profile: 'smoke', runId: 'a' });
    const run2 = [fig('store.set.p99', 42), fig('store.get.p99', 9.5)];
    const result = evaluateGate(run2, [], baseline, opts);
    expect(result.exitCode).toBe(0);
    expect(result.verdicts.every((v) => v.state === 'pass')).toBe(true);
  });

  it('flags a regression beyond the noise band with separated intervals', () => {
    const baseline = baselineFromFigures([fig('store.set.p99', 40)], { profile: 'smoke', runId: 'a' });
    const result = evaluateGate([fig('store.set.p99', 60)], [], baseline, opts);
    expect(result.verdicts[0]!.state).toBe('regressed');
    expect(result.exitCode).toBe(1);
  });

  it('does not call a change a regression when the intervals overlap', () => {
    const baseline = baselineFromFigures([fig('store.set.p99', 40)], { profile: 'smoke', runId: 'a' });
    const wide = fig('store.set.p99', 60, {});
    wide.stats = { ...wide.stats!, ci95: [35, 90] };
    const result = evaluateGate([wide], [], baseline, opts);
    expect(result.verdicts[0]!.state).toBe('pass');
  });

  it('judges the ratio to a same-run reference against its calibrated spread', () => {
    const withRef = (v: number, ref: number) =>
      fig('q.tp', v, {
        unit: 'msg/s',
        better: 'higher',
        reference: { id: 'q.ref', value: ref, ratio: v / ref },
      });
    const runs = [0.99, 1.0, 1.01, 1.0, 0.995].map((k, i) => ({
      runId: `r${i}`,
      figures: [withRef(1000 * k * (1 + i / 10), 100 * (1 + i / 10))],
    }));
    const baseline = calibrateBaseline(runs, { profile: 'smoke' });
    // The machine got twice as slow: value halves, the reference too; the ratio holds.
    expect(evaluateGate([withRef(500, 50)], [], baseline, opts).verdicts[0]).toMatchObject({
      state: 'pass',
      subject: 'ratio',
      judgedBy: 'noise',
    });
    // Only the system got slower: the ratio falls by half, far beyond its spread.
    expect(evaluateGate([withRef(500, 100)], [], baseline, opts).verdicts[0]!.state).toBe('regressed');
    const ratioRule = parseThresholds({ 'q.tp': ['ratio > 5'] }, 't.json');
    expect(evaluateGate([withRef(400, 100)], ratioRule, undefined, opts).verdicts[0]!.state).toBe('breach');
  });

  it('gives an uncalibrated ratio without an interval no verdict, and refuses a changed reference', () => {
    const withRef = (v: number, ref: number, id = 'q.ref') =>
      fig('q.tp', v, { unit: 'msg/s', better: 'higher', reference: { id, value: ref, ratio: v / ref } });
    const single = baselineFromFigures([withRef(1000, 100)], { profile: 'smoke', runId: 'a' });
    expect(evaluateGate([withRef(500, 100)], [], single, opts).verdicts[0]!.state).toBe('invalid');
    const calibrated = calibrateBaseline(
      [1, 1.01, 0.99].map((k, i) => ({ runId: `r${i}`, figures: [withRef(1000 * k, 100)] })),
      { profile: 'smoke' },
    );
    const moved = evaluateGate([withRef(1000, 100, 'q.other')], [], calibrated, opts);
    expect(moved.verdicts[0]!.state).toBe('invalid');
    expect(moved.verdicts[0]!.why).toContain('reference changed');
  });

  it('gives an invalid figure no verdict, never a pass; exit 2 when nothing could be judged or with strict', () => {
    const rules = parseThresholds({ 'store.set.p99': ['< 50us'] }, 't.json');
    const invalid = fig('store.set.p99', 10, { valid: false, invalidReason: 'driver saturated' });
    const result = evaluateGate([invalid], rules, undefined, opts);
    expect(result.verdicts[0]!.state).toBe('invalid');
    expect(result.exitCode).toBe(2);
    const withAnother = evaluateGate(
      [invalid, fig('store.get.p99', 4)],
      parseThresholds({ 'store.*.p99': ['< 50us'] }, 't.json'),
      undefined,
      opts,
    );
    expect(withAnother.noVerdict).toBe(1);
    expect(withAnother.exitCode).toBe(0);
    expect(
      evaluateGate(
        [invalid, fig('store.get.p99', 4)],
        parseThresholds({ 'store.*.p99': ['< 50us'] }, 't.json'),
        undefined,
        { ...opts, strict: true },
      ).exitCode,
    ).toBe(2);
  });

  it('calls a threshold breach inconclusive while the 95% interval still reaches the limit', () => {
    const rules = parseThresholds({ 'store.set.p99': ['< 50us'], 'q.tp': ['ratio > 1'] }, 't.json');
    const straddles = fig('store.set.p99', 52);
    straddles.stats = { ...straddles.stats!, ci95: [45, 60] };
    const clear = fig('store.set.p99', 80);
    clear.stats = { ...clear.stats!, ci95: [70, 90] };
    const unsure = evaluateGate([straddles], rules, undefined, opts);
    expect(unsure.verdicts[0]!.state).toBe('invalid');
    expect(unsure.verdicts[0]!.why).toContain('reaches the limit');
    expect(unsure.exitCode).toBe(2);
    expect(evaluateGate([clear], rules, undefined, opts).verdicts[0]!.state).toBe('breach');
    const ratio = (r: number, ci: [number, number]) =>
      fig('q.tp', 100 * r, {
        unit: 'msg/s',
        better: 'higher',
        reference: { id: 'q.ref', value: 100, ratio: r, ratioCi95: ci, pairs: 5 },
      });
    expect(evaluateGate([ratio(0.95, [0.7, 1.4])], rules, undefined, opts).verdicts[0]!.state).toBe(
      'invalid',
    );
    expect(evaluateGate([ratio(0.6, [0.5, 0.8])], rules, undefined, opts).verdicts[0]!.state).toBe('breach');
  });

  it('applies profile-restricted rules only in their profiles', () => {
    const rules = parseThresholds({ 'store.set.p99': { rules: ['< 20us'], profiles: ['bench'] } }, 't.json');
    expect(evaluateGate([fig('store.set.p99', 40)], rules, undefined, opts).exitCode).toBe(0);
    expect(
      evaluateGate([fig('store.set.p99', 40)], rules, undefined, { ...opts, profile: 'bench' }).exitCode,
    ).toBe(1);
  });
});
