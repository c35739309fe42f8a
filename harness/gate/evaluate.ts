import type { Figure } from '../measure/figure.ts';
import { convert } from '../measure/units.ts';
import type { Baseline, BaselineEntry } from './baseline.ts';
import { globMatches, type ThresholdRule } from './thresholds.ts';

export type VerdictState = 'pass' | 'improved' | 'regressed' | 'breach' | 'invalid' | 'new' | 'missing';

export interface Verdict {
  id: string;
  state: VerdictState;
  /** Why, in one line a person reads in a CI log. */
  why: string;
  now?: { value: number; unit: string; ci95?: [number, number]; ratio?: number };
  baseline?: BaselineEntry;
  /** Relative change against the baseline, signed so that positive is better. */
  change?: number;
  rules: string[];
}

export interface GateOptions {
  profile: string;
  /** Changes smaller than this share are noise. */
  tolerance: number;
  /** When set, figures of the baseline absent from the run are reported as `missing`. */
  reportMissing?: boolean;
}

export interface GateResult {
  verdicts: Verdict[];
  exitCode: 0 | 1 | 2;
  summary: Record<VerdictState, number>;
}

const compare = (op: ThresholdRule['op'], a: number, b: number): boolean =>
  op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : op === '>=' ? a >= b : a === b;

function checkRule(rule: ThresholdRule, figure: Figure): string | undefined {
  if (rule.subject === 'ratio') {
    if (!figure.reference) return `${rule.text}: the figure names no reference`;
    return compare(rule.op, figure.reference.ratio, rule.limit)
      ? undefined
      : `ratio ${figure.reference.ratio.toPrecision(3)} to ${figure.reference.id} breaks "${rule.text}"`;
  }
  const value = rule.unit ? convert(figure.value, figure.unit, rule.unit) : figure.value;
  return compare(rule.op, value, rule.limit)
    ? undefined
    : `${value.toPrecision(4)} ${rule.unit ?? figure.unit} breaks "${rule.text}" (${rule.source})`;
}

/** Signed relative change, positive = better. */
function relativeChange(now: number, base: number, better: 'higher' | 'lower'): number {
  if (base === 0) return now === 0 ? 0 : better === 'higher' ? Math.sign(now) : -Math.sign(now);
  const change = (now - base) / Math.abs(base);
  return better === 'higher' ? change : -change;
}

function overlaps(a: [number, number] | undefined, b: [number, number] | undefined): boolean {
  if (!a || !b) return true;
  return a[0] <= b[1] && b[0] <= a[1];
}

function compareBaseline(
  figure: Figure,
  base: BaselineEntry,
  tolerance: number,
): Pick<Verdict, 'state' | 'why' | 'change'> {
  // Prefer the ratio to a same-run reference: it cancels the machine's speed and load.
  if (figure.reference && base.ratio !== undefined) {
    const change = relativeChange(figure.reference.ratio, base.ratio, 'higher');
    const signed = figure.better === 'higher' ? change : -change;
    if (signed < -tolerance) {
      return {
        state: 'regressed',
        change: signed,
        why: `ratio to ${figure.reference.id} fell ${pct(-signed)} (> ${pct(tolerance)} noise band)`,
      };
    }
    if (signed > tolerance)
      return {
        state: 'improved',
        change: signed,
        why: `ratio to ${figure.reference.id} improved ${pct(signed)}`,
      };
    return { state: 'pass', change: signed, why: `ratio to ${figure.reference.id} within ${pct(tolerance)}` };
  }
  const value = base.unit === figure.unit ? figure.value : convert(figure.value, figure.unit, base.unit);
  const change = relativeChange(value, base.value, figure.better);
  const ci = figure.stats && figure.stats.ciMethod !== 'none' ? figure.stats.ci95 : undefined;
  const nowCi: [number, number] | undefined = ci
    ? [convert(ci[0], figure.unit, base.unit), convert(ci[1], figure.unit, base.unit)]
    : undefined;
  const separated = !overlaps(nowCi, base.ci95);
  if (change < -tolerance && (separated || !nowCi || !base.ci95)) {
    return {
      state: 'regressed',
      change,
      why: `worse by ${pct(-change)} (> ${pct(tolerance)} noise band${separated ? ', 95% CIs apart' : ''})`,
    };
  }
  if (change > tolerance && (separated || !nowCi || !base.ci95)) {
    return { state: 'improved', change, why: `better by ${pct(change)}` };
  }
  return {
    state: 'pass',
    change,
    why:
      Math.abs(change) > tolerance
        ? `changed ${pct(change)} but the 95% CIs overlap`
        : `within the ${pct(tolerance)} noise band`,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * Judge a run: thresholds first (a breach fails), then the baseline with the noise band and
 * confidence intervals. An invalid figure gets no verdict, never a pass.
 * Exit code: 1 on any breach or regression, else 2 when a judged figure was invalid, else 0.
 */
export function evaluateGate(
  figures: Figure[],
  rules: ThresholdRule[],
  baseline: Baseline | undefined,
  options: GateOptions,
): GateResult {
  const verdicts: Verdict[] = [];
  const seen = new Set<string>();
  let judgedInvalid = false;
  for (const figure of figures) {
    seen.add(figure.id);
    const applicable = rules.filter(
      (r) => globMatches(r.pattern, figure.id) && (!r.profiles || r.profiles.includes(options.profile)),
    );
    const base = baseline?.figures[figure.id];
    const now = {
      value: figure.value,
      unit: figure.unit,
      ...(figure.stats && figure.stats.ciMethod !== 'none' ? { ci95: figure.stats.ci95 } : {}),
      ...(figure.reference ? { ratio: figure.reference.ratio } : {}),
    };
    const common = {
      id: figure.id,
      now,
      rules: applicable.map((r) => r.text),
      ...(base ? { baseline: base } : {}),
    };
    if (!figure.valid) {
      if (applicable.length > 0 || base) judgedInvalid = true;
      verdicts.push({
        ...common,
        state: 'invalid',
        why: `no verdict: ${figure.invalidReason ?? 'invalid run'}`,
      });
      continue;
    }
    const breaches = applicable.map((r) => checkRule(r, figure)).filter((x): x is string => x !== undefined);
    const baselineVerdict = base ? compareBaseline(figure, base, options.tolerance) : undefined;
    if (breaches.length > 0) {
      verdicts.push({
        ...common,
        state: 'breach',
        why: breaches.join('; '),
        ...(baselineVerdict ? { change: baselineVerdict.change } : {}),
      });
    } else if (baselineVerdict) {
      verdicts.push({ ...common, ...baselineVerdict });
    } else if (applicable.length > 0) {
      verdicts.push({
        ...common,
        state: 'pass',
        why: `meets ${applicable.map((r) => `"${r.text}"`).join(', ')}`,
      });
    } else {
      verdicts.push({ ...common, state: 'new', why: 'no threshold and no baseline' });
    }
  }
  if (options.reportMissing && baseline) {
    for (const [id, base] of Object.entries(baseline.figures)) {
      if (!seen.has(id))
        verdicts.push({
          id,
          state: 'missing',
          why: 'in the baseline, not in this run',
          baseline: base,
          rules: [],
        });
    }
  }
  const summary = { pass: 0, improved: 0, regressed: 0, breach: 0, invalid: 0, new: 0, missing: 0 } as Record<
    VerdictState,
    number
  >;
  for (const v of verdicts) summary[v.state]++;
  const exitCode = summary.breach + summary.regressed > 0 ? 1 : judgedInvalid ? 2 : 0;
  return { verdicts, exitCode, summary };
}
