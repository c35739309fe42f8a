import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { RigError } from '../errors.ts';
import { readRigEnv } from '../run/env.ts';
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
  const history = readRigEnv().RIG_ALLURE_HISTORY ?? path.join(root, 'reports', 'allure-history.jsonl');
  writeFileSync(
    config,
    `export default ${JSON.stringify(
      {
        name: `rig ${run.meta.profile} ${run.meta.runId}`,
        output,
        historyPath: history,
        plugins: { awesome: { options: { singleFile: true } } },
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
      env: { ...process.env, FORCE_COLOR: '0', ALLURE_NO_ANALYTICS: 'true' },
    },
  );
  if (result.exitCode !== 0) {
    throw new RigError(
      'RIG_REPORT_FAILED',
      `allure generate exited ${result.exitCode}: ${String(result.all).slice(-2000)}`,
    );
  }
  const index = path.join(output, 'index.html');
  if (existsSync(index)) writeFileSync(index, stripAnalytics(readFileSync(index, 'utf8')));
  return index;
}

/**
 * The Awesome plugin always embeds a Google Analytics tag. A test report must open offline and
 * call nobody: remove the loader and its inline configuration.
 */
export function stripAnalytics(html: string): string {
  return html
    .replace(/<script async src="https:\/\/www\.googletagmanager\.com\/[^"]*"><\/script>/g, '')
    .replace(/<script>\s*window\.dataLayer = window\.dataLayer[\s\S]*?<\/script>/g, '');
}
