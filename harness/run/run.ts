import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { type Profile, resolveProfile } from '../config/profile.ts';
import { loadRigConfig } from '../config/rig-config.ts';
import { RigError } from '../errors.ts';
import { gateRun } from '../gate/run-gate.ts';
import { formatVerdictTable } from '../gate/table.ts';
import { loadRun, writeReports, writeSiteIndex } from '../report/index.ts';
import type { RunMeta } from '../report/run-data.ts';
import { captureEnvironment } from './environment.ts';
import { selectFiles } from './select.ts';

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
  argv: string[];
  log?: (line: string) => void;
}

export interface RunOutcome {
  runId: string;
  dir: string;
  html: string;
  exitCode: number;
  tests: RunMeta['tests'];
  gateExit: number;
}

function newRunId(profile: Profile, reportsDir: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  let id = `${stamp}-${profile.name}`;
  for (let i = 2; existsSync(path.join(reportsDir, id)); i++) id = `${stamp}-${profile.name}-${i}`;
  return id;
}

function readTests(dir: string): RunMeta['tests'] | undefined {
  const file = path.join(dir, 'vitest-summary.json');
  if (!existsSync(file)) return undefined;
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as {
      passed: number;
      failed: number;
      skipped: number;
      total: number;
    };
    return { passed: j.passed, failed: j.failed, skipped: j.skipped, total: j.total };
  } catch {
    return undefined;
  }
}

/**
 * One run: select files for the profile, run vitest with the run's environment, then turn what
 * it recorded into figures.json, verdicts, the HTML report and the site index. The report steps
 * run even when tests failed or vitest crashed.
 */
export async function runSuites(options: RunOptions): Promise<RunOutcome> {
  const log = options.log ?? ((line: string) => console.log(line));
  const config = loadRigConfig(options.root);
  const overrides = config.profiles[options.profile] ?? {};
  const profile = resolveProfile(options.profile, overrides);
  const targets = { ...config.targets, ...(options.targets ?? {}) };
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
  const reportsDir = path.join(options.root, 'reports');
  mkdirSync(reportsDir, { recursive: true });
  const runId = newRunId(profile, reportsDir);
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
  };
  const writeMeta = () => writeFileSync(path.join(dir, 'run.json'), `${JSON.stringify(meta, null, 2)}\n`);
  writeMeta();
  log(
    `rig: run ${runId}, profile ${profile.name}, ${selection.files.length} test files -> ${path.relative(options.root, dir)}`,
  );
  if (options.injectSlowdown)
    log(
      `rig: injecting a ${(options.injectSlowdown * 100).toFixed(0)}% slowdown into every measured operation (calibration run; never a baseline)`,
    );

  const vitest = path.join(options.root, 'node_modules', 'vitest', 'vitest.mjs');
  const child = execa(process.execPath, [vitest, 'run', '--config', 'vitest.config.ts', ...selection.files], {
    cwd: options.root,
    reject: false,
    stdio: options.json ? ['ignore', 'ignore', 'inherit'] : 'inherit',
    env: {
      ...process.env,
      RIG_RUN_DIR: dir,
      RIG_RUN_ID: runId,
      RIG_PROFILE: profile.name,
      RIG_TARGETS: JSON.stringify(targets),
      RIG_PROFILE_OVERRIDES: JSON.stringify(overrides),
      RIG_TEST_TIMEOUT_MS: String(profile.testTimeoutMs),
      RIG_INJECT_SLOWDOWN: options.injectSlowdown ? String(options.injectSlowdown) : '',
    },
  });
  const onSignal = () => child.kill('SIGTERM');
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const result = await child;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

  meta.finishedAt = new Date().toISOString();
  meta.vitestExitCode = result.exitCode ?? null;
  const tests = readTests(dir);
  if (tests) meta.tests = tests;
  writeMeta();

  const run = loadRun(dir);
  const gate = gateRun(run, { root: options.root });
  const { written, errors } = writeReports(run);
  for (const e of errors) log(`rig: report ${e}`);
  const latest = path.join(reportsDir, 'latest');
  rmSync(latest, { force: true });
  try {
    symlinkSync(runId, latest);
  } catch {
    // symlinks may be unavailable (some Windows setups); `latest` is a convenience only
  }
  writeSiteIndex(reportsDir);
  const html = written.find((f) => f.endsWith('index.html')) ?? path.join(dir, 'index.html');

  if (!options.json) {
    log('');
    log(formatVerdictTable(gate));
    if (run.rejected.length) log(`rig: ${run.rejected.length} figure lines were rejected (see figures.json)`);
  }
  const testsFailed = (result.exitCode ?? 1) !== 0;
  const gateFails = options.gate !== false && gate.exitCode === 1;
  const strictFails = options.strict === true && (gate.exitCode === 2 || gate.noVerdict > 0);
  const exitCode = testsFailed || gateFails ? 1 : strictFails ? 2 : 0;
  const t = tests ?? { passed: 0, failed: 0, skipped: 0, total: 0 };
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ runId, dir, html, exitCode, tests: t, gate: gate.summary })}\n`);
  } else {
    log(`rig: ${run.figures.length} figures; exit ${exitCode}`);
    log(`tests: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`);
    log(`rig: HTML report ${path.relative(process.cwd(), html) || html}`);
  }
  return { runId, dir, html, exitCode, tests, gateExit: gate.exitCode };
}
