// `rig report --combine DIR`: one Allure report of every run under DIR, e.g. the nightly matrix's
// merged runs downloaded into one folder, each job's results in its own Allure environment.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { RigError } from '../errors.ts';
import { generateCombinedAllure, resultEnvironments } from '../report/allure.ts';
import { findRunDirs, loadRun } from '../report/run-data.ts';

/** Writes the combined report into `out` (default `<from>/allure-report`); returns its index.html. */
export async function combineAllureCommand(options: {
  root: string;
  from: string;
  out?: string;
  log: (line: string) => void;
}): Promise<string> {
  const from = path.resolve(options.from);
  if (!existsSync(from) || !statSync(from).isDirectory())
    throw new RigError('RIG_RUN_NOT_FOUND', `--combine ${options.from} is not a folder`);
  const runs = findRunDirs(from).map((dir) => loadRun(dir));
  if (runs.length === 0)
    throw new RigError('RIG_RUN_NOT_FOUND', `--combine ${options.from} holds no run directory (no run.json)`);
  const environments = resultEnvironments(runs.map((run) => path.join(run.dir, 'allure-results')));
  options.log(
    `rig report: one Allure report of ${runs.length} runs, ${environments.length || 'no'} environments${environments.length ? ` (${environments.join('; ')})` : ' (set RIG_ALLURE_LABELS in each job to tell them apart)'}`,
  );
  const index = await generateCombinedAllure({
    root: options.root,
    runs,
    output: path.resolve(options.out ?? path.join(from, 'allure-report')),
    history: path.join(from, 'allure-history.jsonl'),
  });
  if (!index)
    throw new RigError('RIG_RUN_NOT_FOUND', `no run under ${options.from} has allure-results/ to report`);
  return index;
}
