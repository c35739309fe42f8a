// What the site draws beside a figure's values: its calibrated between-run noise (from the
// profile's baseline) and its threshold lines (from the thresholds files), and the change points
// of each figure's series.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { readBaseline } from '../../gate/baseline.ts';
import { effectiveSpread, type Scale } from '../../gate/noise.ts';
import { globMatches, type ThresholdRule } from '../../gate/thresholds.ts';
import { convert } from '../../measure/units.ts';
import { type ChangePoint, detectChangePoints } from './changepoint.ts';
import type { FigureMeta, History, Series } from './history.ts';

/** A figure's calibrated noise in one profile: centre and between-run spread on its scale. */
export interface Noise {
  scale: Scale;
  /** The baseline's centre, in the figure's unit. */
  centre: number;
  /** The spread the gate judges with (floored), ln units for log, the figure's unit for linear. */
  spread: number;
  /** How many A/A runs measured it. */
  runs: number;
}

/** profile -> figure id -> noise, from every reports/baselines/<profile>.json with a calibration. */
export type NoiseTable = Record<string, Record<string, Noise>>;

export function loadNoise(baselinesDir: string, figures: Record<string, FigureMeta>): NoiseTable {
  const table: NoiseTable = {};
  let files: string[] = [];
  try {
    files = readdirSync(baselinesDir).filter((f) => f.endsWith('.json'));
  } catch {
    return table;
  }
  for (const file of files) {
    const baseline = readBaseline(path.join(baselinesDir, file));
    if (!baseline) continue;
    const out: Record<string, Noise> = {};
    for (const [id, entry] of Object.entries(baseline.figures)) {
      const meta = figures[id];
      if (!meta || entry.spread === undefined || !entry.runs || entry.runs < 2) continue;
      const scale: Scale = entry.scale ?? 'log';
      let centre = entry.value;
      let spread = effectiveSpread({ scale, centre: entry.value, spread: entry.spread }, entry.unit);
      if (entry.unit !== meta.unit) {
        try {
          centre = convert(entry.value, entry.unit, meta.unit);
          if (scale === 'linear') spread = convert(spread, entry.unit, meta.unit);
        } catch {
          continue;
        }
      }
      out[id] = { scale, centre, spread, runs: entry.runs };
    }
    table[baseline.profile] = out;
  }
  return table;
}

/** A threshold drawn as a line, in the figure's unit. */
export interface ThresholdLine {
  text: string;
  value: number;
  source: string;
}

/** Value rules of a figure that apply in `profile`, converted to the figure's unit; ratio rules are listed as text. */
export function thresholdsOf(
  rules: ThresholdRule[],
  id: string,
  unit: string,
  profile: string,
): { lines: ThresholdLine[]; other: string[] } {
  const lines: ThresholdLine[] = [];
  const other: string[] = [];
  for (const rule of rules) {
    if (!globMatches(rule.pattern, id)) continue;
    if (rule.profiles && !rule.profiles.includes(profile)) continue;
    if (rule.subject === 'ratio') {
      other.push(`ratio ${rule.op} ${rule.limit} (${rule.source})`);
      continue;
    }
    try {
      const value = rule.unit ? convert(rule.limit, rule.unit, unit) : rule.limit;
      lines.push({ text: rule.text, value, source: rule.source });
    } catch {
      other.push(`${rule.text} (${rule.source}: unit does not match ${unit})`);
    }
  }
  return { lines, other };
}

/** A change point with the run it begins at. */
export interface MarkedChange extends ChangePoint {
  figure: string;
  profile: string;
  /** The trend line it is on: the profile, or profile and platform (lanesOf). */
  lane: string;
  /** The first run after the change (index into the series' runs). */
  runId: string;
  commit: string | undefined;
  startedAt: string;
}

/**
 * Change points of one series. Runs whose figure had no verdict (an untrustworthy measurement)
 * are left out of the detection; indices are mapped back to the series.
 */
export function changesOf(series: Series, meta: FigureMeta, noise: Noise | undefined): MarkedChange[] {
  const kept: number[] = [];
  const values: number[] = [];
  series.points.forEach(([value, , , valid], i) => {
    if (valid && Number.isFinite(value)) {
      kept.push(i);
      values.push(value);
    }
  });
  if (values.length < 3) return [];
  const scale: Scale = noise?.scale ?? meta.scale ?? (values.every((v) => v > 0) ? 'log' : 'linear');
  const found = detectChangePoints(values, {
    scale,
    ...(noise ? { noise: noise.spread } : {}),
    // Short histories have too few runs per side for two: one run after a change that is many
    // noise widths large is enough to mark it, where the noise is calibrated.
    minSegment: noise ? 1 : 2,
    seed: 1,
  });
  return found.map((c) => {
    const at = kept[c.index]!;
    const run = series.runs[at]!;
    return {
      ...c,
      index: at,
      figure: series.figure,
      profile: series.profile,
      lane: series.lane,
      runId: run.id,
      commit: run.commit,
      startedAt: run.startedAt,
    };
  });
}

/** Change points of every figure's series in every profile. */
export function allChanges(
  history: History,
  seriesByFigure: Map<string, Series[]>,
  noise: NoiseTable,
): Map<string, MarkedChange[]> {
  const out = new Map<string, MarkedChange[]>();
  for (const [id, list] of seriesByFigure) {
    const meta = history.figures[id];
    if (!meta) continue;
    const changes = list.flatMap((s) => changesOf(s, meta, noise[s.profile]?.[id]));
    if (changes.length) out.set(id, changes);
  }
  return out;
}
