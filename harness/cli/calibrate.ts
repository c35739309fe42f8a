import path from 'node:path';
import { resolveProfile } from '../config/profile.ts';
import { loadRigConfig } from '../config/rig-config.ts';
import { RigError } from '../errors.ts';
import { baselineRefusals } from '../gate/acceptance.ts';
import {
  type Baseline,
  baselinePath,
  type Machine,
  machineMismatch,
  machineOf,
  readBaseline,
  sortById,
  writeBaseline,
} from '../gate/baseline.ts';
import { type CalibrationRun, calibrateBaseline, leaveOneOut, mdeDistribution } from '../gate/calibrate.ts';
import { DEFAULT_ALPHA, evaluateGate, shareText } from '../gate/evaluate.ts';
import { loadThresholds } from '../gate/thresholds.ts';
import { loadRun } from '../report/index.ts';
import { runSuites } from '../run/run.ts';

/** A/A runs per profile when --runs is not given: enough for a spread, affordable for the profile. */
export const DEFAULT_CALIBRATION_RUNS: Record<string, number> = { smoke: 5, bench: 3, nightly: 3 };

export interface CalibrateOptions {
  root: string;
  profile: string;
  runs?: number;
  suites?: string[];
  systems?: string[];
  /** Reuse finished runs (directories) instead of running new ones. */
  fromRuns?: string[];
  force?: boolean;
  /** Add these runs to the baseline's calibration (same commit) instead of starting afresh. */
  add?: boolean;
  baselineFile?: string;
  alpha?: number;
  log?: (line: string) => void;
}

export interface CalibrateOutcome {
  baselineFile: string;
  baseline: Baseline;
  leaveOneOut: { evaluations: number; falseAlarms: number };
  mde: { n: number; p10: number; p50: number; p90: number };
}

const pct = (x: number) => (Number.isNaN(x) ? '-' : shareText(x));

/**
 * `rig calibrate`: run the selected suites N times on this commit (A/A), refuse runs that may
 * not become a baseline, and write the calibrated baseline: per figure the median over runs and
 * the between-run spread the gate judges with. A --system/--suite subset updates only its figures.
 */
export async function calibrateCommand(options: CalibrateOptions): Promise<CalibrateOutcome> {
  const log = options.log ?? ((line: string) => console.log(line));
  const config = loadRigConfig(options.root);
  const profile = resolveProfile(options.profile, config.profiles[options.profile] ?? {});
  const rules = loadThresholds(
    options.root,
    config.thresholds.map((f) => path.resolve(options.root, f)),
  );
  const count = options.fromRuns?.length ?? options.runs ?? DEFAULT_CALIBRATION_RUNS[profile.name] ?? 3;
  const least = options.add ? 1 : 2;
  if (!(Number.isInteger(count) && count >= least && count <= 100)) {
    throw new RigError(
      'RIG_USAGE',
      `--runs must be an integer from ${least} to 100 (got ${count})${options.add ? '' : ': a spread needs two runs'}`,
    );
  }
  const runs: CalibrationRun[] = [];
  const forced: string[] = [];
  let commit: string | undefined;
  let machine: Machine | undefined;
  for (let i = 0; i < count; i++) {
    let dir: string;
    if (options.fromRuns) {
      dir = path.resolve(options.fromRuns[i]!);
    } else {
      log(`rig calibrate: A/A run ${i + 1} of ${count} (profile ${profile.name})`);
      const outcome = await runSuites({
        root: options.root,
        profile: profile.name,
        ...(options.suites ? { suites: options.suites } : {}),
        ...(options.systems ? { systems: options.systems } : {}),
        gate: false,
        argv: ['calibrate', `--run-${i + 1}-of-${count}`],
        log,
      });
      dir = outcome.dir;
    }
    const run = loadRun(dir);
    if (run.meta.profile !== profile.name)
      throw new RigError('RIG_USAGE', `${run.meta.runId} is a ${run.meta.profile} run, not ${profile.name}`);
    const runCommit = (run.meta.environment as { commit?: string }).commit;
    if (commit !== undefined && runCommit !== commit)
      throw new RigError(
        'RIG_USAGE',
        `calibration runs must share one commit: ${commit} and ${runCommit} (${run.meta.runId})`,
      );
    commit = runCommit;
    const runMachine = machineOf(run.meta.environment);
    const other = machineMismatch(machine, runMachine);
    if (other)
      throw new RigError('RIG_USAGE', `calibration runs must share one machine: ${run.meta.runId}: ${other}`);
    machine ??= runMachine;
    const refusals = baselineRefusals(run, rules);
    if (refusals.length > 0) {
      const why = `run ${run.meta.runId} may not calibrate a baseline: ${refusals.join('; ')}`;
      if (!options.force) throw new RigError('RIG_BASELINE_REFUSED', why);
      log(`rig calibrate: --force: ${why}`);
      forced.push(why);
    }
    runs.push({ runId: run.meta.runId, figures: run.figures });
  }
  const loo = leaveOneOut(runs, {
    profile: profile.name,
    tolerance: profile.noiseTolerance,
    ...(options.alpha !== undefined ? { alpha: options.alpha } : {}),
  });
  const baselineFile = options.baselineFile ?? baselinePath(options.root, profile.name);
  const existing = readBaseline(baselineFile);
  const elsewhere = options.add ? machineMismatch(existing?.machine, machine) : undefined;
  if (elsewhere) throw new RigError('RIG_USAGE', `--add: ${elsewhere}`);
  if (options.add && (!existing?.calibration || existing.commit !== commit)) {
    throw new RigError(
      'RIG_USAGE',
      `--add grows a calibration of the same commit, but ${path.relative(process.cwd(), baselineFile)} ${existing?.calibration ? `was calibrated on ${existing.commit ?? 'an unknown commit'}, these runs are ${commit ?? 'of an unknown commit'}` : 'holds no calibration'}; run rig calibrate without --add`,
    );
  }
  const fresh = calibrateBaseline(
    runs,
    {
      profile: profile.name,
      ...(commit ? { commit } : {}),
      ...(machine ? { machine } : {}),
      leaveOneOut: { evaluations: loo.evaluations, falseAlarms: loo.falseAlarms },
      forced: [...(options.add ? (existing?.calibration?.forced ?? []) : []), ...forced],
    },
    options.add ? existing : undefined,
  );
  // A subset calibration replaces only the figures it measured.
  const previous = !options.add && (options.suites || options.systems) ? existing : undefined;
  const baseline: Baseline = previous
    ? { ...fresh, figures: sortById({ ...previous.figures, ...fresh.figures }) }
    : fresh;
  writeBaseline(baselineFile, baseline);
  const last = runs.at(-1)!;
  const judged = evaluateGate(last.figures, [], fresh, {
    profile: profile.name,
    tolerance: profile.noiseTolerance,
    alpha: options.alpha ?? DEFAULT_ALPHA,
  });
  const mde = mdeDistribution(judged);
  const calibrated = Object.values(fresh.figures).filter((e) => e.spread !== undefined).length;
  log(
    `rig calibrate: wrote ${path.relative(process.cwd(), baselineFile)}: ${Object.keys(fresh.figures).length} figures from ${fresh.calibration?.runIds.length ?? runs.length} runs, ${calibrated} with a between-run spread`,
  );
  log(
    `rig calibrate: minimum detectable effect over ${mde.n} log-scale figures: p10 ${pct(mde.p10)}, median ${pct(mde.p50)}, p90 ${pct(mde.p90)} (family-wise alpha ${options.alpha ?? DEFAULT_ALPHA})`,
  );
  log(
    `rig calibrate: leave-one-out A/A: ${loo.falseAlarms} of ${loo.evaluations} runs would have reported a regression`,
  );
  return { baselineFile, baseline, leaveOneOut: loo, mde };
}
