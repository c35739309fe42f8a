import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readTextFile } from '../config/text-file.ts';
import { RigError } from '../errors.ts';
import type { Verdict } from '../gate/evaluate.ts';
import type { Figure } from '../measure/figure.ts';
import { parseFiguresJsonl } from '../measure/record.ts';
import type { Environment } from '../run/environment.ts';

/** Shard `index` of `count` (1-based), as `rig run --shard index/count` ran it. */
const ShardSchema = z
  .object({ index: z.number().int().positive(), count: z.number().int().positive() })
  .strict()
  .refine((s) => s.index <= s.count, 'shard index must be <= count');

export const RunMetaSchema = z
  .object({
    runId: z.string(),
    profile: z.string(),
    startedAt: z.string(),
    finishedAt: z.string().optional(),
    argv: z.array(z.string()),
    files: z.array(z.string()),
    environment: z.record(z.string(), z.unknown()),
    tests: z
      .object({ passed: z.number(), failed: z.number(), skipped: z.number(), total: z.number() })
      .strict()
      .optional(),
    vitestExitCode: z.number().nullable().optional(),
    /** @playwright/test's exit code; absent when the run had no browser suites. */
    playwrightExitCode: z.number().nullable().optional(),
    targets: z.record(z.string(), z.string()).optional(),
    /** `rig run --inject-slowdown F`: a calibration run that can never become a baseline. */
    injected: z.object({ slowdown: z.number() }).strict().optional(),
    /** `rig run --shard I/N`: this run is vitest's part I of N of the selected files. */
    shard: ShardSchema.optional(),
    /** `rig merge`: the shard runs this run was put together from, by shard index. */
    shards: z
      .array(z.object({ runId: z.string(), index: z.number(), count: z.number() }).strict())
      .optional(),
  })
  .strict();
export type RunMeta = z.infer<typeof RunMetaSchema> & { environment: Environment | Record<string, unknown> };

export interface RunData {
  dir: string;
  meta: RunMeta;
  figures: Figure[];
  rejected: string[];
  verdicts: Verdict[] | undefined;
}

/** Load a finished (or crashed) run from its directory. */
export function loadRun(dir: string): RunData {
  const metaFile = path.join(dir, 'run.json');
  if (!existsSync(metaFile)) throw new RigError('RIG_RUN_NOT_FOUND', `${dir} has no run.json`);
  const meta = RunMetaSchema.parse(JSON.parse(readTextFile(metaFile))) as RunMeta;
  const jsonl = path.join(dir, 'figures.jsonl');
  const { figures, rejected } = existsSync(jsonl)
    ? parseFiguresJsonl(readFileSync(jsonl, 'utf8'))
    : { figures: [], rejected: [] };
  const verdictFile = path.join(dir, 'verdicts.json');
  const verdicts = existsSync(verdictFile)
    ? (JSON.parse(readTextFile(verdictFile)) as { verdicts: Verdict[] }).verdicts
    : undefined;
  return { dir, meta, figures, rejected, verdicts };
}

/** Run directories (holding run.json) under `dir`, `depth` levels deep; links are not followed. */
export function findRunDirs(dir: string, depth = 4): string[] {
  if (existsSync(path.join(dir, 'run.json'))) return [dir];
  if (depth === 0) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => findRunDirs(path.join(dir, entry.name), depth - 1));
}
