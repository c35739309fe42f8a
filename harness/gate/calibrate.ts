import type { Figure } from '../measure/figure.ts';
import { convert } from '../measure/units.ts';
import { type Baseline, type BaselineEntry, type Calibration, type Machine, sortById } from './baseline.ts';
import { evaluateGate, type GateResult, INSTRUCTION_UNIT } from './evaluate.ts';
import { calibrate, chooseScale } from './noise.ts';
import type { ThresholdRule } from './thresholds.ts';

export const CALIBRATION_METHOD =
  'A/A runs of one commit; centre = median over runs; spread = max(SD, 1.4826 MAD) of ln(value) (or of the value on the linear scale); a new run is judged with Student t (df = runs - 1) on (new - centre) / (spread x sqrt(1 + pi / 2 runs)), Holm across the run at family-wise alpha';

export interface CalibrationRun {
  runId: string;
  figures: Figure[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

/** One run's measurement of one figure, as calibration sees it. */
interface Observation {
  value: number;
  unit: string;
  better: 'higher' | 'lower';
  n: number;
  scale?: 'log' | 'linear';
  ci95?: [number, number];
  ratio?: number;
  referenceId?: string;
}

const observe = (f: Figure): Observation => ({
  value: f.value,
  unit: f.unit,
  better: f.better,
  n: f.n,
  ...(f.scale ? { scale: f.scale } : {}),
  ...(f.stats && f.stats.ciMethod !== 'none' ? { ci95: f.stats.ci95 } : {}),
  ...(f.reference ? { ratio: f.reference.ratio, referenceId: f.reference.id } : {}),
});

/** The runs behind a calibrated entry, as observations (to add more runs of the same commit). */
function previousObservations(e: BaselineEntry): Observation[] {
  const values = e.values ?? [e.value];
  return values.map((value, i) => ({
    value,
    unit: e.unit,
    better: e.better,
    n: e.n,
    ...(e.scale ? { scale: e.scale } : {}),
    ...(e.referenceId && e.ratios?.[i] !== undefined
      ? { ratio: e.ratios[i], referenceId: e.referenceId }
      : {}),
  }));
}

/** Centre, spread and values of one figure over its observations. */
function entryFrom(seen: Observation[]): BaselineEntry {
  const first = seen.at(-1)!;
  const unit = first.unit;
  const values = seen.map((o) => (o.unit === unit ? o.value : convert(o.value, o.unit, unit)));
  const centre = median(values);
  let nearest = 0;
  values.forEach((v, i) => {
    if (Math.abs(v - centre) < Math.abs(values[nearest]! - centre)) nearest = i;
  });
  const centreRun = seen[nearest]!;
  const entry: BaselineEntry = {
    value: centre,
    unit,
    better: first.better,
    n: Math.round(median(seen.map((o) => o.n))),
    ...(centreRun.ci95 ? { ci95: convertPair(centreRun.ci95, centreRun.unit, unit) } : {}),
    runs: seen.length,
    values,
  };
  if (seen.length >= 2 && unit !== INSTRUCTION_UNIT) {
    const c = calibrate(values, first.scale ?? chooseScale(values));
    entry.scale = c.scale;
    entry.spread = c.spread;
  }
  const refIds = new Set(seen.map((o) => o.referenceId));
  if (refIds.size === 1 && first.referenceId) {
    const ratios = seen.map((o) => o.ratio!);
    entry.referenceId = first.referenceId;
    entry.ratio = median(ratios);
    entry.ratios = ratios;
    if (seen.length >= 2 && ratios.every((x) => x > 0)) entry.ratioSpread = calibrate(ratios, 'log').spread;
  }
  return entry;
}

/**
 * A calibrated baseline from A/A runs of one commit: per figure, the median over the runs where
 * it was valid, the between-run spread on its scale and the values themselves. A figure valid in
 * only one run keeps that run's value and interval (no spread); instruction counts need no spread.
 * With `previous` (a calibration of the same commit), its runs count too: calibration grows.
 */
export function calibrateBaseline(
  runs: CalibrationRun[],
  meta: {
    profile: string;
    commit?: string;
    machine?: Machine;
    leaveOneOut?: Calibration['leaveOneOut'];
    forced?: string[];
  },
  previous?: Baseline,
): Baseline {
  const byId = new Map<string, Observation[]>();
  for (const [id, e] of Object.entries(previous?.figures ?? {})) byId.set(id, previousObservations(e));
  for (const run of runs) {
    for (const figure of run.figures) {
      if (!figure.valid) continue;
      const list = byId.get(figure.id) ?? [];
      list.push(observe(figure));
      byId.set(figure.id, list);
    }
  }
  const entries: Record<string, BaselineEntry> = {};
  for (const [id, seen] of byId) entries[id] = entryFrom(seen);
  const calibration: Calibration = {
    runIds: [...(previous?.calibration?.runIds ?? []), ...runs.map((r) => r.runId)],
    method: CALIBRATION_METHOD,
    ...(meta.leaveOneOut ? { leaveOneOut: meta.leaveOneOut } : {}),
    ...(meta.forced?.length ? { forced: meta.forced } : {}),
  };
  return {
    profile: meta.profile,
    createdAt: new Date().toISOString(),
    runId: runs.at(-1)!.runId,
    ...(meta.commit ? { commit: meta.commit } : {}),
    ...(meta.machine ? { machine: meta.machine } : {}),
    calibration,
    figures: sortById(entries),
  };
}

function convertPair(pair: [number, number], from: string, to: string): [number, number] {
  return from === to ? pair : [convert(pair[0], from, to), convert(pair[1], from, to)];
}

/**
 * Leave-one-out A/A: each run judged against a baseline calibrated on the others. Every
 * evaluation that reports a regression is a false alarm (the runs measured the same commit).
 */
export function leaveOneOut(
  runs: CalibrationRun[],
  options: { profile: string; tolerance: number; alpha?: number; rules?: ThresholdRule[] },
): { evaluations: number; falseAlarms: number; results: GateResult[] } {
  const results: GateResult[] = [];
  if (runs.length < 3) return { evaluations: 0, falseAlarms: 0, results };
  for (let i = 0; i < runs.length; i++) {
    const others = runs.filter((_, j) => j !== i);
    const baseline = calibrateBaseline(others, { profile: options.profile });
    results.push(
      evaluateGate(runs[i]!.figures, options.rules ?? [], baseline, {
        profile: options.profile,
        tolerance: options.tolerance,
        ...(options.alpha !== undefined ? { alpha: options.alpha } : {}),
      }),
    );
  }
  return {
    evaluations: results.length,
    falseAlarms: results.filter((r) => r.summary.regressed > 0).length,
    results,
  };
}

/** Quantiles of the minimum detectable effects (log-scale figures, as shares) of one gate result. */
export function mdeDistribution(result: GateResult): { n: number; p10: number; p50: number; p90: number } {
  const mdes = result.verdicts
    .filter(
      (v) => v.judgedBy === 'noise' && v.scale === 'log' && v.mde !== undefined && Number.isFinite(v.mde),
    )
    .map((v) => v.mde!)
    .sort((a, b) => a - b);
  const q = (p: number) =>
    mdes.length ? mdes[Math.min(mdes.length - 1, Math.floor(p * mdes.length))]! : Number.NaN;
  return { n: mdes.length, p10: q(0.1), p50: q(0.5), p90: q(0.9) };
}
