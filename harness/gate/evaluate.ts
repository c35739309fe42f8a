import type { Figure } from '../measure/figure.ts';
import { convert, formatValue } from '../measure/units.ts';
import type { Baseline, BaselineEntry } from './baseline.ts';
import {
  type Calibrated,
  criticalZ,
  holmRejects,
  minimumDetectableEffect,
  type NoiseTest,
  noiseTest,
  type Scale,
  spreadUpperFactor,
  upperQuantile,
} from './noise.ts';
import { globMatches, type ThresholdRule } from './thresholds.ts';

export type VerdictState = 'pass' | 'improved' | 'regressed' | 'breach' | 'invalid' | 'new' | 'missing';

/** What a baseline verdict rests on. */
export type JudgedBy =
  /** The calibrated between-run spread (A/A runs), Holm across the run's figures. */
  | 'noise'
  /** A fixed band: instruction counts, which do not vary between runs. */
  | 'band'
  /** No calibration: the within-run 95% interval and the profile's noise band. */
  | 'interval';

export interface Verdict {
  id: string;
  state: VerdictState;
  /** Why, in one line a person reads in a CI log. */
  why: string;
  now?: {
    value: number;
    unit: string;
    ci95?: [number, number];
    ratio?: number;
    ratioCi95?: [number, number];
  };
  baseline?: BaselineEntry;
  /** Relative change against the baseline, signed so that positive is better. */
  change?: number;
  /** Linear-scale figures: now - baseline, in the baseline's unit (raw sign, not direction). */
  delta?: number;
  /** The scale the change was judged on; `ratio` when the subject was the ratio to the reference. */
  scale?: Scale;
  subject?: 'value' | 'ratio';
  judgedBy?: JudgedBy;
  /** Minimum detectable effect: a share (log scale) or an amount in the baseline's unit (linear). */
  mde?: number;
  /**
   * The change this figure's gate catches at least 95% of the time, even if calibration understated
   * its spread (the spread's 95% upper bound); same units as `mde`.
   */
  mde95?: number;
  /** Calibrated verdicts: the change in prediction spreads (positive = better) and its p value. */
  z?: number;
  p?: number;
  /** Calibrated verdicts: the critical value (in prediction spreads) this run's family demanded. */
  k?: number;
  rules: string[];
}

export interface GateOptions {
  profile: string;
  /** Uncalibrated figures: changes smaller than this share are noise. */
  tolerance: number;
  /** Holm's family-wise level for one run's calibrated verdicts. Default 0.005 (see DEFAULT_ALPHA). */
  alpha?: number;
  /** Band for instruction counts (`instr/op`), which need no calibration. Default 0.01. */
  instructionBand?: number;
  /** When set, figures of the baseline absent from the run are reported as `missing`. */
  reportMissing?: boolean;
  /** Why the baseline cannot judge this run (another machine): its comparisons get no verdict. */
  baselineUnusable?: string;
  /** Exit 2 when any figure with a rule or a baseline got no verdict. */
  strict?: boolean;
}

export interface GateResult {
  verdicts: Verdict[];
  /**
   * 1: a breach or a regression. 2: nothing could be judged (every figure with a rule or a
   * baseline had no verdict), or, with `strict`, any such figure had none. 0 otherwise; the
   * figures without a verdict are listed (`noVerdict`), never counted as passes.
   */
  exitCode: 0 | 1 | 2;
  /** Figures with a rule or a baseline that got no verdict. */
  noVerdict: number;
  summary: Record<VerdictState, number>;
  /** How the calibrated verdicts were held to the family-wise false-alarm rate. */
  family?: { alpha: number; figures: number; method: string };
}

/**
 * Holm's family-wise level. The target is at most 1% of A/A runs with any false alarm; the level
 * is half that, because between-run errors have heavier tails than the normal the t test assumes
 * (suites/harness/gate.calibration.test.ts measures the rate that results).
 */
export const DEFAULT_ALPHA = 0.005;
export const DEFAULT_INSTRUCTION_BAND = 0.01;
export const INSTRUCTION_UNIT = 'instr/op';

const compare = (op: ThresholdRule['op'], a: number, b: number): boolean =>
  op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : op === '>=' ? a >= b : a === b;

/** A rule the point value breaks: `conclusive` when the figure's 95% interval breaks it too. */
interface RuleBreak {
  text: string;
  conclusive: boolean;
}

/** Whether some value in `ci` would meet the rule. */
function intervalReaches(op: ThresholdRule['op'], ci: [number, number], limit: number): boolean {
  return op === '<' || op === '<='
    ? compare(op, ci[0], limit)
    : op === '>' || op === '>='
      ? compare(op, ci[1], limit)
      : ci[0] <= limit && limit <= ci[1];
}

const ciText = (ci: [number, number], unit: string) =>
  `95% CI [${ci[0].toPrecision(3)}, ${ci[1].toPrecision(3)}]${unit ? ` ${unit}` : ''}`;

/**
 * Judge one threshold rule. A rule is breached when the figure's value breaks it and so does
 * its whole 95% interval; when the interval still reaches the limit, the breach is inconclusive
 * (a verdict the run cannot support: no verdict, never a fail or a pass).
 */
function checkRule(rule: ThresholdRule, figure: Figure): RuleBreak | undefined {
  if (rule.subject === 'ratio') {
    if (!figure.reference) return { text: `${rule.text}: the figure names no reference`, conclusive: true };
    if (compare(rule.op, figure.reference.ratio, rule.limit)) return undefined;
    const ci = figure.reference.ratioCi95;
    const reaches = ci !== undefined && intervalReaches(rule.op, ci, rule.limit);
    return {
      text: `ratio ${figure.reference.ratio.toPrecision(3)} to ${figure.reference.id} breaks "${rule.text}"${ci ? ` (${ciText(ci, '')}${reaches ? ' reaches the limit' : ''})` : ''}`,
      conclusive: !reaches,
    };
  }
  const unit = rule.unit ?? figure.unit;
  const value = rule.unit ? convert(figure.value, figure.unit, rule.unit) : figure.value;
  if (compare(rule.op, value, rule.limit)) return undefined;
  const raw = figure.stats && figure.stats.ciMethod !== 'none' ? figure.stats.ci95 : undefined;
  const ci: [number, number] | undefined = raw
    ? rule.unit
      ? [convert(raw[0], figure.unit, rule.unit), convert(raw[1], figure.unit, rule.unit)]
      : raw
    : undefined;
  const reaches = ci !== undefined && intervalReaches(rule.op, ci, rule.limit);
  return {
    text: `${value.toPrecision(4)} ${unit} breaks "${rule.text}" (${rule.source}${ci ? `; ${ciText(ci, unit)}${reaches ? ' reaches the limit' : ''}` : ''})`,
    conclusive: !reaches,
  };
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

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** A share as a percentage, or as a factor once it passes 10x (a detectable effect of 5e16% reads badly). */
export const shareText = (x: number): string =>
  !Number.isFinite(x) ? 'none' : x < 9 ? pct(x) : 1 + x >= 1e4 ? '>10000x' : `${(1 + x).toFixed(0)}x`;

/** "worse by 12.0%" / "better by 3.1%" / "worse by 10.4 MiB": one sign convention everywhere. */
export function describeChange(v: Pick<Verdict, 'change' | 'delta' | 'scale' | 'baseline'>): string {
  if (v.scale === 'linear' && v.delta !== undefined && v.baseline) {
    if (v.delta === 0) return 'unchanged';
    const worse = (v.change ?? 0) < 0;
    return `${worse ? 'worse' : 'better'} by ${formatValue(Math.abs(v.delta), v.baseline.unit)}`;
  }
  if (v.change === undefined) return '-';
  if (v.change === 0) return 'unchanged';
  return `${v.change < 0 ? 'worse' : 'better'} by ${pct(Math.abs(v.change))}`;
}

/** The minimum detectable effect as text: "18.2%" or "4.1 MiB". */
export function describeMde(v: Pick<Verdict, 'mde' | 'scale' | 'baseline' | 'subject'>): string {
  if (v.mde === undefined) return '-';
  return v.scale === 'linear' && v.baseline ? formatValue(v.mde, v.baseline.unit) : shareText(v.mde);
}

type Partial_ = Pick<
  Verdict,
  'state' | 'why' | 'change' | 'delta' | 'scale' | 'subject' | 'judgedBy' | 'mde' | 'mde95'
>;

/** Instruction counts are deterministic: a fixed band, no calibration runs needed. */
function compareInstructions(figure: Figure, base: BaselineEntry, band: number): Partial_ {
  const change = relativeChange(figure.value, base.value, figure.better);
  const common = {
    change,
    scale: 'log' as const,
    subject: 'value' as const,
    judgedBy: 'band' as const,
    mde: band,
    mde95: band,
  };
  if (change < -band)
    return { ...common, state: 'regressed', why: `worse by ${pct(-change)} (> ${pct(band)} band)` };
  if (change > band)
    return { ...common, state: 'improved', why: `better by ${pct(change)} (> ${pct(band)} band)` };
  return { ...common, state: 'pass', why: `within the ${pct(band)} band (${describeChange(common)})` };
}

/** No calibration: the within-run interval and the profile's band; without an interval, no verdict. */
function compareUncalibrated(figure: Figure, base: BaselineEntry, tolerance: number): Partial_ {
  const judged = { judgedBy: 'interval' as const, scale: 'log' as const };
  if (figure.reference && base.ratio !== undefined) {
    const change = relativeChange(figure.reference.ratio, base.ratio, figure.better);
    const ci = figure.reference.ratioCi95;
    const common = { ...judged, change, subject: 'ratio' as const };
    if (!ci) {
      return {
        ...common,
        state: 'invalid',
        why: `no verdict: the ratio to ${figure.reference.id} has no interval and the baseline no calibrated spread (run rig calibrate)`,
      };
    }
    const outside = base.ratio < ci[0] || base.ratio > ci[1];
    if (Math.abs(change) > tolerance && outside) {
      return change < 0
        ? {
            ...common,
            state: 'regressed',
            why: `ratio to ${figure.reference.id} ${describeChange(common)} (> ${pct(tolerance)} band, baseline outside its 95% CI; uncalibrated)`,
          }
        : { ...common, state: 'improved', why: `ratio to ${figure.reference.id} ${describeChange(common)}` };
    }
    return {
      ...common,
      state: 'pass',
      why: `ratio to ${figure.reference.id} within its interval or the ${pct(tolerance)} band (uncalibrated)`,
    };
  }
  const value = base.unit === figure.unit ? figure.value : convert(figure.value, figure.unit, base.unit);
  const change = relativeChange(value, base.value, figure.better);
  const common = { ...judged, change, subject: 'value' as const };
  const ci = figure.stats && figure.stats.ciMethod !== 'none' ? figure.stats.ci95 : undefined;
  if (!ci || !base.ci95) {
    return {
      ...common,
      state: 'invalid',
      why: 'no verdict: neither a calibrated between-run spread nor a within-run interval (run rig calibrate)',
    };
  }
  const nowCi: [number, number] = [
    convert(ci[0], figure.unit, base.unit),
    convert(ci[1], figure.unit, base.unit),
  ];
  const separated = !overlaps(nowCi, base.ci95);
  if (Math.abs(change) > tolerance && separated) {
    return change < 0
      ? {
          ...common,
          state: 'regressed',
          why: `${describeChange(common)} (> ${pct(tolerance)} band, 95% CIs apart; uncalibrated)`,
        }
      : { ...common, state: 'improved', why: describeChange(common) };
  }
  return {
    ...common,
    state: 'pass',
    why:
      Math.abs(change) > tolerance
        ? `${describeChange(common)} but the 95% CIs overlap (uncalibrated)`
        : `within the ${pct(tolerance)} band (uncalibrated)`,
  };
}

interface Pending {
  index: number;
  test: NoiseTest;
  calibrated: Calibrated;
  subject: 'value' | 'ratio';
  change: number;
  delta?: number;
  what: string;
}

/** The calibrated test of one figure, or why it cannot be judged that way. */
function calibratedTest(
  figure: Figure,
  base: BaselineEntry,
): { pending: Omit<Pending, 'index'> } | { verdict: Partial_ } | undefined {
  const runs = base.runs ?? 1;
  if (figure.reference && base.ratioSpread !== undefined && base.ratio !== undefined) {
    if (base.referenceId && base.referenceId !== figure.reference.id) {
      return {
        verdict: {
          state: 'invalid',
          subject: 'ratio',
          why: `no verdict: the reference changed from ${base.referenceId} to ${figure.reference.id}`,
        },
      };
    }
    const calibrated: Calibrated = {
      scale: 'log',
      centre: base.ratio,
      spread: base.ratioSpread,
      runs,
    };
    const test = noiseTest(figure.reference.ratio, calibrated, figure.better, figure.unit);
    if (!test) return undefined;
    return {
      pending: {
        test,
        calibrated,
        subject: 'ratio',
        change: relativeChange(figure.reference.ratio, base.ratio, figure.better),
        what: `ratio to ${figure.reference.id}`,
      },
    };
  }
  if (base.spread === undefined) return undefined;
  const scale = base.scale ?? 'log';
  const value = base.unit === figure.unit ? figure.value : convert(figure.value, figure.unit, base.unit);
  const calibrated: Calibrated = {
    scale,
    centre: base.value,
    spread: base.spread,
    runs,
  };
  const test = noiseTest(value, calibrated, figure.better, base.unit);
  if (!test) {
    return {
      verdict: {
        state: 'invalid',
        why: `no verdict: ${formatValue(value, base.unit)} cannot be compared on a log scale (run rig calibrate again)`,
      },
    };
  }
  return {
    pending: {
      test,
      calibrated,
      subject: 'value',
      change: relativeChange(value, base.value, figure.better),
      ...(scale === 'linear' ? { delta: value - base.value } : {}),
      what: 'value',
    },
  };
}

/**
 * Judge a run: thresholds first (a breach fails), then the baseline. A calibrated figure is a
 * regression when its change is beyond what its own between-run spread explains, with Holm's
 * step-down holding the chance of any false alarm in the run to `alpha`; an instruction count
 * against a fixed band; an uncalibrated figure on its within-run interval and the profile's
 * band, and with neither spread nor interval it gets no verdict. An invalid figure gets no
 * verdict, never a pass. Exit code: 1 on any breach or regression, else 2 when a judged figure
 * had no verdict, else 0.
 */
export function evaluateGate(
  figures: Figure[],
  rules: ThresholdRule[],
  baseline: Baseline | undefined,
  options: GateOptions,
): GateResult {
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  const band = options.instructionBand ?? DEFAULT_INSTRUCTION_BAND;
  const verdicts: Verdict[] = [];
  /** Breached thresholds by verdict index: a breach outranks the baseline's verdict. */
  const breached = new Map<number, string>();
  /** Thresholds the value breaks but its interval still reaches: no verdict unless something else fails. */
  const inconclusive = new Map<number, string>();
  const pending: Pending[] = [];
  const seen = new Set<string>();
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
      ...(figure.reference?.ratioCi95 ? { ratioCi95: figure.reference.ratioCi95 } : {}),
    };
    const common = {
      id: figure.id,
      now,
      rules: applicable.map((r) => r.text),
      ...(base ? { baseline: base } : {}),
    };
    if (!figure.valid) {
      verdicts.push({
        ...common,
        state: 'invalid',
        why: `no verdict: ${figure.invalidReason ?? 'invalid run'}`,
      });
      continue;
    }
    const broken = applicable.map((r) => checkRule(r, figure)).filter((x): x is RuleBreak => x !== undefined);
    const breaches = broken.filter((b) => b.conclusive).map((b) => b.text);
    const unsure = broken.filter((b) => !b.conclusive).map((b) => b.text);
    if (breaches.length > 0) breached.set(verdicts.length, breaches.join('; '));
    if (unsure.length > 0) inconclusive.set(verdicts.length, unsure.join('; '));
    const breachVerdict = (extra: Partial<Verdict> = {}): Verdict => ({
      ...common,
      ...extra,
      state: 'breach',
      why: breaches.join('; '),
    });
    if (!base) {
      if (breaches.length > 0) verdicts.push(breachVerdict());
      else if (applicable.length > 0)
        verdicts.push({
          ...common,
          state: 'pass',
          why: `meets ${applicable.map((r) => `"${r.text}"`).join(', ')}`,
        });
      else verdicts.push({ ...common, state: 'new', why: 'no threshold and no baseline' });
      continue;
    }
    let judged: Partial_;
    if (options.baselineUnusable) {
      judged = { state: 'invalid', why: `no verdict: ${options.baselineUnusable}` };
    } else if (figure.unit === INSTRUCTION_UNIT) {
      judged = compareInstructions(figure, base, band);
    } else {
      const calibrated = calibratedTest(figure, base);
      if (calibrated && 'pending' in calibrated) {
        pending.push({ ...calibrated.pending, index: verdicts.length });
        // Filled in once the whole family is known (Holm).
        verdicts.push({ ...common, state: 'pass', why: '' });
        continue;
      }
      judged = calibrated
        ? calibrated.verdict
        : baseline?.calibration
          ? {
              // A calibrated baseline whose runs gave this figure no spread: a within-run interval
              // does not stand in for run-to-run variance.
              state: 'invalid',
              why: `no verdict: valid in ${base.runs ?? 1} of the ${baseline.calibration.runIds.length} calibration runs, so no between-run spread (calibrate with more runs)`,
            }
          : compareUncalibrated(figure, base, options.tolerance);
    }
    verdicts.push(breaches.length > 0 ? breachVerdict(judged) : { ...common, ...judged });
  }

  // The calibrated family: Holm on the one-sided p of a change this bad, and (separately) this good.
  const m = pending.length;
  const worse = holmRejects(
    pending.map((p) => p.test.pWorse),
    alpha,
  );
  const better = holmRejects(
    pending.map((p) => p.test.pBetter),
    alpha,
  );
  const method = `Holm over ${m} calibrated figures, family-wise alpha ${alpha}`;
  const kByDf = new Map<number, number>();
  const powerByDf = new Map<number, number>();
  pending.forEach((p, j) => {
    const v = verdicts[p.index]!;
    const k = kByDf.get(p.test.df) ?? criticalZ(alpha, m, p.test.df);
    kByDf.set(p.test.df, k);
    const mde = minimumDetectableEffect(k, p.test.scaleSd, p.calibrated.scale);
    const power = powerByDf.get(p.test.df) ?? upperQuantile(0.05, p.test.df);
    powerByDf.set(p.test.df, power);
    const mde95 = minimumDetectableEffect(
      k + power,
      p.test.scaleSd * spreadUpperFactor(p.test.df),
      p.calibrated.scale,
    );
    const linear = p.calibrated.scale === 'linear';
    const info = {
      change: p.change,
      ...(p.delta !== undefined ? { delta: p.delta } : {}),
      scale: p.calibrated.scale,
      subject: p.subject,
      judgedBy: 'noise' as const,
      mde,
      mde95,
      k,
      z: p.test.z,
      p: worse[j] || p.test.z < 0 ? p.test.pWorse : p.test.pBetter,
    };
    const moved = describeChange({ ...info, ...(v.baseline ? { baseline: v.baseline } : {}) });
    const subject = p.subject === 'ratio' ? `${p.what} ` : '';
    const spreadText = linear
      ? formatValue(p.calibrated.spread, v.baseline?.unit ?? '')
      : pct(Math.expm1(p.calibrated.spread));
    const evidence = `z ${p.test.z.toFixed(1)}, k ${k.toFixed(1)}; between-run spread ${spreadText} over ${p.calibrated.runs} runs, df ${p.test.df.toFixed(0)}`;
    let state: VerdictState;
    let why: string;
    if (worse[j]) {
      state = 'regressed';
      why = `${subject}${moved}: beyond its noise (${evidence}; ${method})`;
    } else if (better[j]) {
      state = 'improved';
      why = `${subject}${moved} (${evidence})`;
    } else {
      state = 'pass';
      why = `${subject}${moved}, within its noise (${evidence}; detectable ${linear ? formatValue(mde, v.baseline?.unit ?? '') : shareText(mde)})`;
    }
    const breach = breached.get(p.index);
    verdicts[p.index] = breach
      ? { ...v, ...info, state: 'breach', why: breach }
      : { ...v, ...info, state, why };
  });

  for (const [index, why] of inconclusive) {
    const v = verdicts[index]!;
    if (v.state === 'pass' || v.state === 'improved' || v.state === 'new')
      verdicts[index] = { ...v, state: 'invalid', why: `no verdict: inconclusive threshold: ${why}` };
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
  const judgeable = verdicts.filter((v) => v.rules.length > 0 || v.baseline);
  const noVerdict = judgeable.filter((v) => v.state === 'invalid').length;
  const nothingJudged = judgeable.length > 0 && noVerdict === judgeable.length;
  const exitCode =
    summary.breach + summary.regressed > 0 ? 1 : nothingJudged || (options.strict && noVerdict > 0) ? 2 : 0;
  return {
    verdicts,
    exitCode,
    noVerdict,
    summary,
    ...(m > 0 ? { family: { alpha, figures: m, method } } : {}),
  };
}
