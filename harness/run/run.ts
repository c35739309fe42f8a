import { appendFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Profile, resolveProfile } from '../config/profile.ts';
import { loadRigConfig, type RigConfig } from '../config/rig-config.ts';
import { RigError } from '../errors.ts';
import { baselinePath, readBaseline } from '../gate/baseline.ts';
import type { GateResult } from '../gate/evaluate.ts';
import { gateRun } from '../gate/run-gate.ts';
import { formatVerdictMarkdown, formatVerdictTable } from '../gate/table.ts';
import { loadThresholds } from '../gate/thresholds.ts';
import { allureLabelEnv } from '../report/allure.ts';
import { loadRun, type RunData, writeReports, writeSiteIndex } from '../report/index.ts';
import type { RunMeta } from '../report/run-data.ts';
import { providerNamed } from '../systems/providers/index.ts';
import { encodeRigEnv, readRigEnv } from './env.ts';
import { captureEnvironment } from './environment.ts';
import { mergeBrowserJunit, runCounts } from './merge.ts';
import { type BrowserRunner, spawnPlaywright } from './playwright.ts';
import { BROWSER_SUITES_DIR, type Selection, selectFiles } from './select.ts';
import { formatShard, type Shard } from './shard.ts';
import { spawnRunner } from './spawn.ts';

/**
 * Runs vitest on `files` with `env` added to the environment (only its part of them with `shard`);
 * resolves to its exit code.
 */
export type VitestRunner = (job: {
  root: string;
  files: string[];
  env: Record<string, string>;
  quiet: boolean;
  shard?: Shard;
}) => Promise<number | null>;

export interface RunOptions {
  root: string;
  profile: string;
  suites?: string[];
  systems?: string[];
  targets?: Record<string, string>;
  /** Fail the run on a threshold breach or regression (default true). */
  gate?: boolean;
  /** Treat no-verdict figures as a failure (exit 2). */
  strict?: boolean;
  json?: boolean;
  /** `--inject-slowdown F`: slow every measured operation by F of its own time (calibration only). */
  injectSlowdown?: number;
  /** Append the verdict table in Markdown to this file (a CI job summary: $GITHUB_STEP_SUMMARY). */
  summary?: string;
  /**
   * `--shard I/N`: run vitest's part I of N of the selected files, and write its blob report for
   * `rig merge`; the browser suites run in shard 1 only.
   */
  shard?: Shard;
  argv: string[];
  log?: (line: string) => void;
  /** How vitest runs; default: the repository's vitest in a child process. Tests pass a fake. */
  vitest?: VitestRunner;
  /** How the browser suites run; default: the repository's @playwright/test. Tests pass a fake. */
  playwright?: BrowserRunner;
}

export interface RunOutcome {
  runId: string;
  dir: string;
  html: string;
  exitCode: number;
  tests: RunMeta['tests'];
  gateExit: number;
}

/** What a run is made of, checked before vitest starts. */
export interface RunPlan {
  config: RigConfig;
  profile: Profile;
  overrides: Record<string, unknown>;
  targets: Record<string, string>;
  selection: Selection;
}

/** A new run's id, `<UTC stamp>-<profile>[-<suffix>]`, unique within `reportsDir`. */
export function newRunId(profile: string, reportsDir: string, suffix?: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const base = `${stamp}-${profile}${suffix ? `-${suffix}` : ''}`;
  let id = base;
  for (let i = 2; existsSync(path.join(reportsDir, id)); i++) id = `${base}-${i}`;
  return id;
}

/**
 * Everything a run needs, validated before vitest starts (and before its directory exists): the
 * RIG_* environment, rig.config.json, the profile, the thresholds files, the profile's baseline
 * and the file selection. A bad one fails here with its RigError, not after minutes of suites.
 */
export function planRun(options: RunOptions): RunPlan {
  const env = readRigEnv();
  if (env.RIG_PROVIDER) providerNamed(env.RIG_PROVIDER, 'RIG_PROVIDER');
  const config = loadRigConfig(options.root);
  const overrides = config.profiles[options.profile] ?? {};
  const profile = resolveProfile(options.profile, overrides);
  const targets = { ...config.targets, ...(options.targets ?? {}) };
  loadThresholds(
    options.root,
    config.thresholds.map((f) => path.resolve(options.root, f)),
  );
  readBaseline(baselinePath(options.root, profile.name));
  const selection = selectFiles(options.root, profile.suites, {
    ...(options.suites ? { suites: options.suites } : {}),
    ...(options.systems ? { systems: options.systems } : {}),
  });
  if (selection.files.length === 0) {
    throw new RigError(
      'RIG_USAGE',
      `no test files match profile ${profile.name}${options.suites ? ` --suite ${options.suites.join(',')}` : ''}${options.systems ? ` --system ${options.systems.join(',')}` : ''}`,
    );
  }
  return { config, profile, overrides, targets, selection };
}

/** The repository's vitest CLI (node_modules/vitest/vitest.mjs). */
export function vitestBin(root: string): string {
  return path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
}

/**
 * The repository's vitest in a child process; Ctrl-C is passed on to it. A shard may hold no file
 * (fewer files than shards): that is a pass, not vitest's "no test files found".
 */
export const spawnVitest: VitestRunner = ({ root, files, env, quiet, shard }) =>
  spawnRunner({
    root,
    args: [
      vitestBin(root),
      'run',
      '--config',
      'vitest.config.ts',
      ...(shard ? ['--shard', formatShard(shard), '--passWithNoTests'] : []),
      ...files,
    ],
    env,
    quiet,
  });

/**
 * Runs one test runner; a runner that throws (it could not start) is logged and counts as exit
 * null, a failed run, like one that a signal ended.
 */
async function runRunner(
  name: string,
  log: (line: string) => void,
  start: () => Promise<number | null>,
): Promise<number | null> {
  try {
    return await start();
  } catch (error) {
    log(`rig: ${name} did not run: ${(error as Error).message}`);
    return null;
  }
}

/** One step after vitest; its failure is kept and logged, and the next step runs anyway. */
function attempt<T>(what: string, log: (line: string) => void, fn: () => T): { value?: T; error?: unknown } {
  try {
    return { value: fn() };
  } catch (error) {
    log(`rig: ${what} failed: ${(error as Error).message}`);
    return { error };
  }
}

/**
 * After vitest: the gate, the run's reports, `reports/latest` and the site index. Each step runs
 * whatever happened in the one before it, so a gate that fails or throws still leaves the HTML
 * report, the link and the index behind.
 */
export function finishRun(
  root: string,
  dir: string,
  log: (line: string) => void,
): { run?: RunData; gate?: GateResult; gateError?: unknown; html: string } {
  const reportsDir = path.dirname(dir);
  const loaded = attempt('reading the run', log, () => loadRun(dir));
  const run = loaded.value;
  const gated = run ? attempt('the gate', log, () => gateRun(run, { root })) : { error: loaded.error };
  let html = path.join(dir, 'index.html');
  if (run) {
    const { written, errors } = writeReports(run);
    for (const e of errors) log(`rig: report ${e}`);
    html = written.find((f) => f.endsWith('index.html')) ?? html;
  }
  attempt('linking reports/latest', log, () => {
    const latest = path.join(reportsDir, 'latest');
    rmSync(latest, { force: true });
    try {
      // A junction on Windows: a directory symlink there needs privileges a CI runner may lack.
      symlinkSync(path.basename(dir), latest, process.platform === 'win32' ? 'junction' : undefined);
    } catch {
      // symlinks may be unavailable (some Windows setups); `latest` is a convenience only
    }
  });
  attempt('the site index', log, () => writeSiteIndex(reportsDir));
  return {
    ...(run ? { run } : {}),
    ...(gated.value ? { gate: gated.value } : {}),
    ...(gated.error !== undefined ? { gateError: gated.error } : {}),
    html,
  };
}

/**
 * One run: check everything it needs (planRun), run vitest, then the browser suites under
 * @playwright/test, both with the run's environment; fold Playwright's junit.xml and counts into
 * the run's (merge.ts; Allure results and figures are written to the same directory by both); then
 * turn what was recorded into figures.json, verdicts, the HTML report and the site index. The
 * report steps run even when tests failed, a runner crashed, or the gate failed or threw.
 */
export async function runSuites(options: RunOptions): Promise<RunOutcome> {
  const log = options.log ?? ((line: string) => console.log(line));
  const { profile, overrides, targets, selection } = planRun(options);
  const reportsDir = path.join(options.root, 'reports');
  mkdirSync(reportsDir, { recursive: true });
  const runId = newRunId(profile.name, reportsDir);
  const dir = path.join(reportsDir, runId);
  mkdirSync(dir, { recursive: true });
  const meta: RunMeta = {
    runId,
    profile: profile.name,
    startedAt: new Date().toISOString(),
    argv: options.argv,
    files: selection.files,
    environment: captureEnvironment(options.root) as unknown as Record<string, unknown>,
    ...(Object.keys(targets).length ? { targets } : {}),
    ...(options.injectSlowdown ? { injected: { slowdown: options.injectSlowdown } } : {}),
    ...(options.shard ? { shard: options.shard } : {}),
  };
  const writeMeta = () => writeFileSync(path.join(dir, 'run.json'), `${JSON.stringify(meta, null, 2)}\n`);
  writeMeta();
  log(
    `rig: run ${runId}, profile ${profile.name}, ${selection.files.length} test files${options.shard ? `, shard ${formatShard(options.shard)} of them` : ''} -> ${path.relative(options.root, dir)}`,
  );
  if (options.injectSlowdown)
    log(
      `rig: injecting a ${(options.injectSlowdown * 100).toFixed(0)}% slowdown into every measured operation (calibration run; never a baseline)`,
    );

  const env = encodeRigEnv({
    RIG_RUN_DIR: dir,
    RIG_RUN_ID: runId,
    RIG_PROFILE: profile.name,
    RIG_TARGETS: targets,
    RIG_PROFILE_OVERRIDES: overrides,
    RIG_TEST_TIMEOUT_MS: profile.testTimeoutMs,
    RIG_INJECT_SLOWDOWN: options.injectSlowdown,
    RIG_SHARD: options.shard ? formatShard(options.shard) : undefined,
  });
  Object.assign(env, allureLabelEnv(readRigEnv().RIG_ALLURE_LABELS));
  const quiet = Boolean(options.json);
  // Neither runner is started without files: vitest would run every test it knows.
  let vitestExit: number | null = 0;
  if (selection.vitest.length > 0) {
    vitestExit = await runRunner('vitest', log, () =>
      (options.vitest ?? spawnVitest)({
        root: options.root,
        files: selection.vitest,
        env,
        quiet,
        ...(options.shard ? { shard: options.shard } : {}),
      }),
    );
    meta.vitestExitCode = vitestExit;
  }
  let playwrightExit: number | null = 0;
  const browserShard = options.shard === undefined || options.shard.index === 1;
  if (selection.browser.length > 0 && !browserShard && !quiet)
    log(`rig: the ${selection.browser.length} browser suite files run in shard 1 only`);
  if (selection.browser.length > 0 && browserShard) {
    if (!quiet)
      log(
        `rig: ${selection.browser.length} browser suite files under @playwright/test (playwright.config.ts)`,
      );
    playwrightExit = await runRunner('@playwright/test', log, () =>
      (options.playwright ?? spawnPlaywright)({ root: options.root, files: selection.browser, env, quiet }),
    );
    meta.playwrightExitCode = playwrightExit;
    attempt('merging the browser suites into junit.xml', log, () =>
      mergeBrowserJunit(dir, `${BROWSER_SUITES_DIR}/`),
    );
  }

  meta.finishedAt = new Date().toISOString();
  const tests = runCounts(dir);
  if (tests) meta.tests = tests;
  writeMeta();

  return concludeRun(dir, [vitestExit, playwrightExit], tests, { ...options, log });
}

/** How the closing steps judge and print a run: `rig run`'s and `rig merge`'s flags. */
export interface ConcludeOptions {
  root: string;
  /** Fail on a threshold breach or regression (default true). */
  gate?: boolean;
  /** Exit 2 when a judged figure has no verdict. */
  strict?: boolean;
  /** One JSON line instead of the tables. */
  json?: boolean;
  /** Append the verdict table in Markdown to this file (a CI job summary: $GITHUB_STEP_SUMMARY). */
  summary?: string;
  log: (line: string) => void;
}

/**
 * The closing steps of a run whose runners have finished (`rig run`'s vitest and Playwright, or
 * `rig merge`'s `vitest --merge-reports`): the gate and the reports (finishRun), the verdict
 * table, the exit code (1 when a runner failed or the gate fails, 2 with `strict` for figures
 * without a verdict) and the closing lines. A gate that threw is rethrown once the reports exist.
 */
export function concludeRun(
  dir: string,
  runnerExits: ReadonlyArray<number | null>,
  tests: RunMeta['tests'],
  options: ConcludeOptions,
): RunOutcome {
  const { log } = options;
  const runId = path.basename(dir);
  const { run, gate, gateError, html } = finishRun(options.root, dir, log);
  if (!options.json && gate) {
    log('');
    log(formatVerdictTable(gate));
  }
  if (!options.json && run?.rejected.length)
    log(`rig: ${run.rejected.length} figure lines were rejected (see figures.json)`);
  if (options.summary !== undefined && gate)
    attempt('the Markdown summary', log, () =>
      appendFileSync(
        options.summary as string,
        `${formatVerdictMarkdown(gate, { title: `run ${runId}, profile ${run?.meta.profile}` })}\n`,
      ),
    );
  const gateExit = gate?.exitCode ?? 1;
  const testsFailed = runnerExits.some((code) => (code ?? 1) !== 0);
  const gateFails = options.gate !== false && gateExit === 1;
  const strictFails = options.strict === true && (gateExit === 2 || (gate?.noVerdict ?? 0) > 0);
  const exitCode = testsFailed || gateFails || gateError !== undefined ? 1 : strictFails ? 2 : 0;
  const t = tests ?? { passed: 0, failed: 0, skipped: 0, total: 0 };
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ runId, dir, html, exitCode, tests: t, gate: gate?.summary })}\n`,
    );
  } else {
    log(`rig: ${run?.figures.length ?? 0} figures; exit ${exitCode}`);
    log(`tests: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`);
    log(`rig: HTML report ${path.relative(process.cwd(), html) || html}`);
  }
  // The reports are written; a gate that threw is reported with its own code and fix.
  if (gateError !== undefined) throw gateError;
  return { runId, dir, html, exitCode, tests, gateExit };
}
