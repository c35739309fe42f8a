import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { RigError } from '../errors.ts';
import { readRigEnv } from '../run/env.ts';
import type { RunData } from './run-data.ts';

/**
 * The label that puts a result into its Allure environment: RIG_ALLURE_LABELS joined, e.g.
 * `os=ubuntu-24.04 node=22`. One report of several jobs (`rig report --combine`) shows one
 * environment per job, so that the same test of two jobs is two results, never one retried.
 */
export const ENVIRONMENT_LABEL = 'rig_environment';

/** Allure's limit on an environment's name and id. */
const ENVIRONMENT_MAX = 64;

/**
 * The variables that make both runners' Allure reporters (allure-vitest, allure-playwright) add
 * `labels` to every result: ALLURE_LABEL_<name>, and the environment label that joins them.
 */
export function allureLabelEnv(labels: Record<string, string> | undefined): Record<string, string> {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return {};
  const env: Record<string, string> = {};
  for (const [name, value] of entries) env[`ALLURE_LABEL_${name}`] = value;
  env[`ALLURE_LABEL_${ENVIRONMENT_LABEL}`] = entries
    .map(([name, value]) => `${name}=${value}`)
    .join(' ')
    .slice(0, ENVIRONMENT_MAX);
  return env;
}

/** The environment names the results in `dirs` carry (their ENVIRONMENT_LABEL), sorted. */
export function resultEnvironments(dirs: readonly string[]): string[] {
  const names = new Set<string>();
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir)) {
      if (!file.endsWith('-result.json')) continue;
      const text = readFileSync(path.join(dir, file), 'utf8');
      if (!text.includes(ENVIRONMENT_LABEL)) continue;
      try {
        const labels = (JSON.parse(text) as { labels?: Array<{ name?: string; value?: string }> }).labels;
        const value = labels?.find((l) => l.name === ENVIRONMENT_LABEL)?.value;
        if (value) names.add(value);
      } catch {
        // a torn result file: Allure reports it; it names no environment
      }
    }
  }
  return [...names].sort();
}

/**
 * allurerc.mjs: the report's name, output, history file and single-file Awesome plugin, and one
 * Allure environment per name in `environments`, matched on the ENVIRONMENT_LABEL.
 */
export function allureConfigSource(config: {
  name: string;
  output: string;
  historyPath: string;
  environments: readonly string[];
}): string {
  const { environments, ...plain } = config;
  const body = JSON.stringify({ ...plain, plugins: { awesome: { options: { singleFile: true } } } }, null, 2);
  if (environments.length === 0) return `export default ${body};\n`;
  const ids = new Set<string>();
  const entries = environments.map((name) => {
    const base = name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, ENVIRONMENT_MAX - 4) || 'env';
    let id = base;
    for (let i = 2; ids.has(id); i++) id = `${base}-${i}`;
    ids.add(id);
    return `    ${JSON.stringify(id)}: {\n      name: ${JSON.stringify(name)},\n      matcher: ({ labels }) => labels.some((l) => l.name === ${JSON.stringify(ENVIRONMENT_LABEL)} && l.value === ${JSON.stringify(name)}),\n    },`;
  });
  return `export default {\n  ...${body.replace(/\n/g, '\n  ')},\n  environments: {\n${entries.join('\n')}\n  },\n};\n`;
}

/** Runs `allure generate` on `results` with the config file `config`; returns the report's index.html. */
async function allureGenerate(job: {
  root: string;
  results: readonly string[];
  config: string;
  output: string;
  cwd: string;
}): Promise<string> {
  const bin = path.join(job.root, 'node_modules', 'allure', 'cli.js');
  const command = existsSync(bin) ? [process.execPath, bin] : ['npx', 'allure'];
  const result = await execa(
    command[0]!,
    [...command.slice(1), 'generate', ...job.results, '--config', job.config, '--output', job.output],
    {
      cwd: job.cwd,
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
  const index = path.join(job.output, 'index.html');
  if (existsSync(index)) writeFileSync(index, stripAnalytics(readFileSync(index, 'utf8')));
  return index;
}

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
    allureConfigSource({
      name: `rig ${run.meta.profile} ${run.meta.runId}`,
      output,
      historyPath: history,
      environments: resultEnvironments([results]),
    }),
  );
  return allureGenerate({ root, results: [results], config, output, cwd: run.dir });
}

/**
 * One Allure report of several runs (`rig report --combine`: the nightly matrix's jobs), each
 * job's results in its own Allure environment (RIG_ALLURE_LABELS). Undefined when no run has
 * Allure results. History: RIG_ALLURE_HISTORY, else `history` (the caller's default).
 */
export async function generateCombinedAllure(job: {
  root: string;
  runs: ReadonlyArray<Pick<RunData, 'dir' | 'meta'>>;
  output: string;
  history: string;
}): Promise<string | undefined> {
  const results = job.runs
    .map((run) => path.join(run.dir, 'allure-results'))
    .filter((dir) => existsSync(dir));
  if (results.length === 0) return undefined;
  const profiles = [...new Set(job.runs.map((run) => run.meta.profile))].join(', ');
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'rig-allure-'));
  try {
    const config = path.join(scratch, 'allurerc.mjs');
    writeFileSync(
      config,
      allureConfigSource({
        name: `rig ${profiles}: ${job.runs.length} runs`,
        output: job.output,
        historyPath: readRigEnv().RIG_ALLURE_HISTORY ?? job.history,
        environments: resultEnvironments(results),
      }),
    );
    return await allureGenerate({ root: job.root, results, config, output: job.output, cwd: scratch });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
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
