import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { RigError } from '../errors.ts';
import type { RunData } from './run-data.ts';

/**
 * The Allure 3 report of a run: allure-vitest wrote `allure-results/` during the run; this runs
 * the `allure` package's generate with a history file shared by all runs, so trends appear.
 */
export async function generateAllure(run: RunData, root: string): Promise<string | undefined> {
  const results = path.join(run.dir, 'allure-results');
  if (!existsSync(results)) return undefined;
  const output = path.join(run.dir, 'allure-report');
  const config = path.join(run.dir, 'allurerc.mjs');
  const history = path.join(root, 'reports', 'allure-history.jsonl');
  writeFileSync(
    config,
    `export default ${JSON.stringify(
      {
        name: `rig ${run.meta.profile} ${run.meta.runId}`,
        output,
        historyPath: history,
        plugins: { awesome: { options: { singleFile: false } } },
      },
      null,
      2,
    )};\n`,
  );
  const bin = path.join(root, 'node_modules', 'allure', 'cli.js');
  const command = existsSync(bin) ? [process.execPath, bin] : ['npx', 'allure'];
  const result = await execa(
    command[0]!,
    [...command.slice(1), 'generate', results, '--config', config, '--output', output],
    {
      cwd: run.dir,
      reject: false,
      all: true,
      env: { ...process.env, FORCE_COLOR: '0' },
    },
  );
  if (result.exitCode !== 0) {
    throw new RigError(
      'RIG_REPORT_FAILED',
      `allure generate exited ${result.exitCode}: ${String(result.all).slice(-2000)}`,
    );
  }
  return path.join(output, 'index.html');
}
