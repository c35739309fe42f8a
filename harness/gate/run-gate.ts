import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveProfile } from '../config/profile.ts';
import { loadRigConfig } from '../config/rig-config.ts';
import type { RunData } from '../report/run-data.ts';
import { baselinePath, machineMismatch, machineOf, readBaseline } from './baseline.ts';
import { evaluateGate, type GateResult } from './evaluate.ts';
import { loadThresholds } from './thresholds.ts';

export interface GateRunOptions {
  root: string;
  baselineFile?: string;
  thresholdFiles?: string[];
  tolerance?: number;
  /** Holm's family-wise level of the calibrated verdicts (default DEFAULT_ALPHA). */
  alpha?: number;
  /** Exit 2 when any figure with a rule or a baseline got no verdict. */
  strict?: boolean;
}

/** Judge a loaded run against the repo's thresholds and its profile's baseline; writes verdicts.json. */
export function gateRun(run: RunData, options: GateRunOptions): GateResult & { baselineFile: string } {
  const profileName = run.meta.profile;
  const config = loadRigConfig(options.root);
  const extra = [
    ...config.thresholds.map((f) => path.resolve(options.root, f)),
    ...(options.thresholdFiles ?? []),
  ];
  const rules = loadThresholds(options.root, extra);
  const baselineFile = options.baselineFile ?? baselinePath(options.root, profileName);
  const baseline = readBaseline(baselineFile);
  let tolerance = options.tolerance;
  if (tolerance === undefined) {
    try {
      tolerance = resolveProfile(profileName, config.profiles[profileName] ?? {}).noiseTolerance;
    } catch {
      tolerance = 0.2;
    }
  }
  const unusable = machineMismatch(baseline?.machine, machineOf(run.meta.environment));
  const result = evaluateGate(run.figures, rules, baseline, {
    profile: profileName,
    tolerance,
    ...(unusable ? { baselineUnusable: unusable } : {}),
    ...(options.strict ? { strict: true } : {}),
    ...(options.alpha !== undefined ? { alpha: options.alpha } : {}),
  });
  writeFileSync(
    path.join(run.dir, 'verdicts.json'),
    `${JSON.stringify({ baseline: baseline ? path.relative(options.root, baselineFile) : null, calibrated: Boolean(baseline?.calibration), tolerance, ...result }, null, 2)}\n`,
  );
  run.verdicts = result.verdicts;
  return { ...result, baselineFile };
}
