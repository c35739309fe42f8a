import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readTextFile } from '../config/text-file.ts';
import { formatZodIssues } from '../config/zod-error.ts';
import { RigError } from '../errors.ts';
import type { Figure } from '../measure/figure.ts';

export const BaselineEntrySchema = z
  .object({
    value: z.number(),
    unit: z.string(),
    better: z.enum(['higher', 'lower']),
    n: z.number(),
    ci95: z.tuple([z.number(), z.number()]).optional(),
    ratio: z.number().optional(),
    referenceId: z.string().optional(),
    /** Calibration: how many A/A runs the centre (`value`, the median) and the spread come from. */
    runs: z.number().int().positive().optional(),
    /** The scale runs are compared on: `log` (shares) or `linear` (absolute differences). */
    scale: z.enum(['log', 'linear']).optional(),
    /** Between-run standard deviation on `scale` (ln units, or the figure's unit when linear). */
    spread: z.number().nonnegative().optional(),
    /** Between-run standard deviation of ln(ratio to the reference). */
    ratioSpread: z.number().nonnegative().optional(),
    /** The value of each calibration run, in `unit`, in run order. */
    values: z.array(z.number()).optional(),
    /** The ratio to the reference in each calibration run. */
    ratios: z.array(z.number()).optional(),
  })
  .strict();

export const CalibrationSchema = z
  .object({
    /** The A/A runs of one commit the spreads were measured on. */
    runIds: z.array(z.string()).min(1),
    method: z.string(),
    /** Each run gated against a baseline calibrated on the others (leave-one-out A/A). */
    leaveOneOut: z
      .object({ evaluations: z.number().int().nonnegative(), falseAlarms: z.number().int().nonnegative() })
      .strict()
      .optional(),
    /** Runs refused by the acceptance rules but taken with --force, with the reasons. */
    forced: z.array(z.string()).optional(),
  })
  .strict();

/** What a baseline was measured on: noise and centres hold for this machine and runtime only. */
export const MachineSchema = z
  .object({ cpu: z.string(), cores: z.number().int().positive(), node: z.string() })
  .strict();
export type Machine = z.infer<typeof MachineSchema>;

/** The machine of a run, from its run.json environment; undefined when it was not recorded. */
export function machineOf(environment: Record<string, unknown>): Machine | undefined {
  const { cpu, cores, node } = environment;
  return typeof cpu === 'string' && typeof cores === 'number' && typeof node === 'string'
    ? { cpu, cores, node }
    : undefined;
}

/** Why a baseline of `base` cannot judge a run on `now`, or undefined when it can. */
export function machineMismatch(base: Machine | undefined, now: Machine | undefined): string | undefined {
  if (!base || !now) return undefined;
  const diffs: string[] = [];
  if (base.cpu !== now.cpu) diffs.push(`cpu "${base.cpu}" vs "${now.cpu}"`);
  if (base.cores !== now.cores) diffs.push(`${base.cores} vs ${now.cores} cores`);
  if (base.node !== now.node) diffs.push(`Node ${base.node} vs ${now.node}`);
  return diffs.length
    ? `the baseline was measured on another machine (${diffs.join(', ')}); calibrate on this one`
    : undefined;
}

export const BaselineSchema = z
  .object({
    profile: z.string(),
    createdAt: z.string(),
    runId: z.string(),
    commit: z.string().optional(),
    machine: MachineSchema.optional(),
    calibration: CalibrationSchema.optional(),
    figures: z.record(z.string(), BaselineEntrySchema),
  })
  .strict();

export type Baseline = z.infer<typeof BaselineSchema>;
export type BaselineEntry = z.infer<typeof BaselineEntrySchema>;
export type Calibration = z.infer<typeof CalibrationSchema>;

export function baselinePath(root: string, profile: string): string {
  return path.join(root, 'reports', 'baselines', `${profile}.json`);
}

export function readBaseline(file: string): Baseline | undefined {
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readTextFile(file));
  } catch (error) {
    throw new RigError('RIG_BASELINE_INVALID', `${file}: ${(error as Error).message}`);
  }
  const parsed = BaselineSchema.safeParse(json);
  if (!parsed.success)
    throw new RigError('RIG_BASELINE_INVALID', `${file}: ${formatZodIssues(parsed.error)}`);
  return parsed.data;
}

/**
 * Valid figures of one run become the baseline; invalid ones are left out (they prove nothing).
 * One run cannot measure between-run noise: when `previous` holds a calibration, each figure
 * keeps its calibrated spread (and scale) around the new centre; other figures have only their
 * within-run interval until `rig calibrate` measures them.
 */
export function baselineFromFigures(
  figures: Figure[],
  meta: { profile: string; runId: string; commit?: string; machine?: Machine },
  previous?: Baseline,
): Baseline {
  const entries: Record<string, BaselineEntry> = {};
  // Spreads measured on another machine say nothing about this one.
  const sameMachine = !machineMismatch(previous?.machine, meta.machine);
  for (const f of figures) {
    if (!f.valid) continue;
    const old = sameMachine ? previous?.figures[f.id] : undefined;
    const sameReference = old?.referenceId === f.reference?.id;
    entries[f.id] = {
      value: f.value,
      unit: f.unit,
      better: f.better,
      n: f.n,
      ...(f.stats && f.stats.ciMethod !== 'none' ? { ci95: f.stats.ci95 } : {}),
      ...(f.reference ? { ratio: f.reference.ratio, referenceId: f.reference.id } : {}),
      ...(old?.spread !== undefined && old.unit === f.unit
        ? { runs: old.runs ?? 1, spread: old.spread, ...(old.scale ? { scale: old.scale } : {}) }
        : {}),
      ...(old?.ratioSpread !== undefined && sameReference && f.reference
        ? { ratioSpread: old.ratioSpread }
        : {}),
    };
  }
  return {
    profile: meta.profile,
    createdAt: new Date().toISOString(),
    runId: meta.runId,
    ...(meta.commit ? { commit: meta.commit } : {}),
    ...(meta.machine ? { machine: meta.machine } : {}),
    ...(previous?.calibration && sameMachine ? { calibration: previous.calibration } : {}),
    figures: sortById(entries),
  };
}

export const sortById = <T>(entries: Record<string, T>): Record<string, T> =>
  Object.fromEntries(Object.entries(entries).sort(([a], [b]) => a.localeCompare(b)));

export function writeBaseline(file: string, baseline: Baseline): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(baseline, null, 2)}\n`);
}
