import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { readRigEnv, runDirFromEnv } from './env.ts';

/**
 * Where the current run writes, read from the environment `rig run` sets for its vitest and
 * Playwright workers. (Targets
 * are not here: `targetFor(name)` in env.ts is the one answer.)
 */
export interface RunContext {
  runId: string;
  dir: string;
  figuresFile: string;
  profile: string;
}

let cached: RunContext | undefined;

export function runContext(): RunContext {
  if (cached) return cached;
  const env = readRigEnv();
  const dir = runDirFromEnv();
  mkdirSync(dir, { recursive: true });
  cached = {
    runId: env.RIG_RUN_ID ?? path.basename(dir),
    dir,
    figuresFile: path.join(dir, 'figures.jsonl'),
    profile: env.RIG_PROFILE ?? 'smoke',
  };
  return cached;
}
