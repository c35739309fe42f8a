import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
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
  })
  .strict();

export const BaselineSchema = z
  .object({
    profile: z.string(),
    createdAt: z.string(),
    runId: z.string(),
    commit: z.string().optional(),
    figures: z.record(z.string(), BaselineEntrySchema),
  })
  .strict();

export type Baseline = z.infer<typeof BaselineSchema>;
export type BaselineEntry = z.infer<typeof BaselineEntrySchema>;

export function baselinePath(root: string, profile: string): string {
  return path.join(root, 'reports', 'baselines', `${profile}.json`);
}

export function readBaseline(file: string): Baseline | undefined {
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new RigError('RIG_BASELINE_INVALID', `${file}: ${(error as Error).message}`);
  }
  const parsed = BaselineSchema.safeParse(json);
  if (!parsed.success)
    throw new RigError('RIG_BASELINE_INVALID', `${file}: ${formatZodIssues(parsed.error)}`);
  return parsed.data;
}

/** Valid figures of a run become the baseline; invalid ones are left out (they prove nothing). */
export function baselineFromFigures(
  figures: Figure[],
  meta: { profile: string; runId: string; commit?: string },
): Baseline {
  const entries: Record<string, BaselineEntry> = {};
  for (const f of figures) {
    if (!f.valid) continue;
    entries[f.id] = {
      value: f.value,
      unit: f.unit,
      better: f.better,
      n: f.n,
      ...(f.stats && f.stats.ciMethod !== 'none' ? { ci95: f.stats.ci95 } : {}),
      ...(f.reference ? { ratio: f.reference.ratio, referenceId: f.reference.id } : {}),
    };
  }
  return {
    profile: meta.profile,
    createdAt: new Date().toISOString(),
    runId: meta.runId,
    ...(meta.commit ? { commit: meta.commit } : {}),
    figures: Object.fromEntries(Object.entries(entries).sort(([a], [b]) => a.localeCompare(b))),
  };
}

export function writeBaseline(file: string, baseline: Baseline): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(baseline, null, 2)}\n`);
}
