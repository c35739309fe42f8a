import { mkdirSync } from 'node:fs';
import path from 'node:path';

/** Where the current run writes, read from the environment `rig run` sets for vitest. */
export interface RunContext {
  runId: string;
  dir: string;
  figuresFile: string;
  profile: string;
  /** `name=url` targets given with --target, for the external provider. */
  targets: Record<string, string>;
}

let cached: RunContext | undefined;

export function runContext(): RunContext {
  if (cached) return cached;
  const dir = path.resolve(process.env.RIG_RUN_DIR ?? path.join('reports', 'adhoc'));
  mkdirSync(dir, { recursive: true });
  const targets = process.env.RIG_TARGETS
    ? (JSON.parse(process.env.RIG_TARGETS) as Record<string, string>)
    : {};
  cached = {
    runId: process.env.RIG_RUN_ID ?? path.basename(dir),
    dir,
    figuresFile: path.join(dir, 'figures.jsonl'),
    profile: process.env.RIG_PROFILE ?? 'smoke',
    targets,
  };
  return cached;
}

/** The URL given with `--target name=url` (or rig.config.json targets), if any. */
export function targetUrl(name: string): string | undefined {
  return runContext().targets[name] ?? process.env[`RIG_TARGET_${name.toUpperCase().replace(/-/g, '_')}`];
}
