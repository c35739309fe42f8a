import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RigError } from '../errors.ts';
import type { BrowserRunner } from './playwright.ts';
import { runSuites, type VitestRunner } from './run.ts';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A repository with one latency suite file and a thresholds file, as `rig run` sees it. */
function repo(thresholds: unknown = { 'selftest.op.p99': ['< 50us'] }): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'rig-run-'));
  roots.push(root);
  mkdirSync(path.join(root, 'suites', 'latency'), { recursive: true });
  writeFileSync(path.join(root, 'suites', 'latency', 'selftest.latency.test.ts'), '');
  mkdirSync(path.join(root, 'thresholds'));
  writeFileSync(
    path.join(root, 'thresholds', 'selftest.json'),
    typeof thresholds === 'string' ? thresholds : JSON.stringify(thresholds),
  );
  return root;
}

/** A vitest that records one figure and a passing test, as the real one would. */
function fakeVitest(value: number, during?: (root: string) => void): VitestRunner & { calls: number } {
  const runner = async ({ root, env }: Parameters<VitestRunner>[0]) => {
    runner.calls++;
    const dir = env.RIG_RUN_DIR!;
    const stats = { n: 5000, min: 1, p50: value, p90: value, p95: value, p99: value, max: value };
    const figure = {
      id: 'selftest.op.p99',
      system: 'selftest',
      suite: 'latency',
      value,
      unit: 'us',
      better: 'lower',
      n: 5000,
      method: 'fake',
      valid: true,
      runId: env.RIG_RUN_ID,
      profile: env.RIG_PROFILE,
      at: new Date().toISOString(),
      stats: { ...stats, mean: value, sd: 1, ci95: [value * 0.98, value * 1.02], ciMethod: 'bootstrap' },
    };
    writeFileSync(path.join(dir, 'figures.jsonl'), `${JSON.stringify(figure)}\n`);
    writeFileSync(
      path.join(dir, 'vitest-summary.json'),
      JSON.stringify({ passed: 1, failed: 0, skipped: 0, total: 1 }),
    );
    during?.(root);
    return 0;
  };
  runner.calls = 0;
  return runner;
}

const quiet = () => {};

function expectReportsLeft(root: string): string {
  const reports = path.join(root, 'reports');
  const runId = readlinkSync(path.join(reports, 'latest'));
  expect(existsSync(path.join(reports, runId, 'index.html'))).toBe(true);
  expect(existsSync(path.join(reports, 'index.html'))).toBe(true);
  return runId;
}

describe('rig run', () => {
  it('fails on a bad thresholds file before vitest starts, leaving no run behind', async () => {
    const root = repo('{ "selftest.op.p99": ["< 50 parsecs"] ');
    const vitest = fakeVitest(10);
    const error = await runSuites({ root, profile: 'smoke', argv: [], log: quiet, vitest }).catch((e) => e);
    expect(error).toBeInstanceOf(RigError);
    expect((error as RigError).code).toBe('RIG_THRESHOLDS_INVALID');
    expect((error as RigError).message).toContain('selftest.json');
    expect(vitest.calls).toBe(0);
    expect(existsSync(path.join(root, 'reports'))).toBe(false);
  });

  it('fails on a bad baseline or rig.config.json before vitest starts', async () => {
    const root = repo();
    mkdirSync(path.join(root, 'reports', 'baselines'), { recursive: true });
    writeFileSync(path.join(root, 'reports', 'baselines', 'smoke.json'), '{"figures": 3}');
    const vitest = fakeVitest(10);
    const baseline = await runSuites({ root, profile: 'smoke', argv: [], log: quiet, vitest }).catch(
      (e) => e,
    );
    expect((baseline as RigError).code).toBe('RIG_BASELINE_INVALID');
    rmSync(path.join(root, 'reports', 'baselines', 'smoke.json'));
    writeFileSync(path.join(root, 'rig.config.json'), JSON.stringify({ targets: { inference: 'ftp://x' } }));
    const config = await runSuites({ root, profile: 'smoke', argv: [], log: quiet, vitest }).catch((e) => e);
    expect((config as RigError).code).toBe('RIG_CONFIG_INVALID');
    expect((config as RigError).message).toContain('targets.inference');
    expect(vitest.calls).toBe(0);
  });

  it('hands vitest the RIG_* environment of the run', async () => {
    const root = repo();
    let seen: Record<string, string> = {};
    const vitest: VitestRunner = async (job) => {
      seen = job.env;
      return 0;
    };
    const outcome = await runSuites({
      root,
      profile: 'smoke',
      argv: [],
      log: quiet,
      vitest,
      targets: { inference: 'ws://127.0.0.1:9' },
    });
    expect(seen).toMatchObject({
      RIG_RUN_DIR: outcome.dir,
      RIG_RUN_ID: outcome.runId,
      RIG_PROFILE: 'smoke',
      RIG_TARGETS: '{"inference":"ws://127.0.0.1:9"}',
      RIG_INJECT_SLOWDOWN: '',
      RIG_TEST_TIMEOUT_MS: '120000',
    });
  });

  it('writes the HTML report, reports/latest and the site index when the gate fails', async () => {
    const root = repo();
    const outcome = await runSuites({ root, profile: 'smoke', argv: [], log: quiet, vitest: fakeVitest(80) });
    expect(outcome.gateExit).toBe(1);
    expect(outcome.exitCode).toBe(1);
    expect(expectReportsLeft(root)).toBe(outcome.runId);
  });

  it('writes them when the gate throws, then fails with the gate’s error', async () => {
    const root = repo();
    // The thresholds file breaks while the suites run: only the gate step can notice.
    const vitest = fakeVitest(10, (r) => writeFileSync(path.join(r, 'thresholds', 'selftest.json'), '{'));
    const lines: string[] = [];
    const error = await runSuites({
      root,
      profile: 'smoke',
      argv: [],
      log: (l) => lines.push(l),
      vitest,
    }).catch((e) => e);
    expect((error as RigError).code).toBe('RIG_THRESHOLDS_INVALID');
    const runId = expectReportsLeft(root);
    expect(readdirSync(path.join(root, 'reports'))).toContain(runId);
    expect(lines.join('\n')).toContain('rig: the gate failed');
    expect(lines.join('\n')).toMatch(/rig: HTML report .*index\.html/);
  });

  describe('browser suites', () => {
    /** The repository above plus one browser spec of system `selftest`. */
    function browserRepo(): string {
      const root = repo();
      mkdirSync(path.join(root, 'suites', 'browser'), { recursive: true });
      writeFileSync(path.join(root, 'suites', 'browser', 'selftest.ui.spec.ts'), '');
      return root;
    }

    /** A @playwright/test that writes what its reporters would: junit, summary, a figure line. */
    function fakePlaywright(failed: number): BrowserRunner & { files: string[][] } {
      const runner = async ({ env, files }: Parameters<BrowserRunner>[0]) => {
        runner.files.push(files);
        const dir = env.RIG_RUN_DIR!;
        const skips = [
          { file: 'suites/browser/selftest.ui.spec.ts', name: 'ui › later', reason: 'no Chromium' },
        ];
        writeFileSync(
          path.join(dir, 'playwright-summary.json'),
          JSON.stringify({ passed: 1, failed, skipped: 1, total: 2 + failed, skips }),
        );
        writeFileSync(
          path.join(dir, 'playwright-junit.xml'),
          `<testsuites tests="${2 + failed}" failures="${failed}" skipped="1" errors="0" time="1">\n<testsuite name="selftest.ui.spec.ts" tests="${2 + failed}" failures="${failed}" skipped="1" errors="0" time="1">\n<testcase name="ui › later" classname="selftest.ui.spec.ts" time="0">\n<skipped>\n</skipped>\n</testcase>\n</testsuite>\n</testsuites>`,
        );
        return failed > 0 ? 1 : 0;
      };
      runner.files = [] as string[][];
      return runner;
    }

    it('runs them after vitest and counts, merges and gates them as one run', async () => {
      const root = browserRepo();
      const order: string[] = [];
      const vitest = fakeVitest(10);
      const playwright = fakePlaywright(0);
      const outcome = await runSuites({
        root,
        profile: 'smoke',
        argv: [],
        log: quiet,
        vitest: async (job) => {
          order.push(`vitest ${job.files.join(' ')}`);
          return vitest(job);
        },
        playwright: async (job) => {
          order.push(`playwright ${job.files.join(' ')}`);
          expect(job.env.RIG_RUN_DIR).toBe(path.join(root, 'reports', path.basename(job.env.RIG_RUN_DIR!)));
          return playwright(job);
        },
      });
      expect(order).toEqual([
        'vitest suites/latency/selftest.latency.test.ts',
        'playwright suites/browser/selftest.ui.spec.ts',
      ]);
      expect(outcome.tests).toEqual({ passed: 2, failed: 0, skipped: 1, total: 3 });
      expect(outcome.exitCode).toBe(0);
      const meta = JSON.parse(readFileSync(path.join(outcome.dir, 'run.json'), 'utf8'));
      expect(meta).toMatchObject({ tests: outcome.tests, vitestExitCode: 0, playwrightExitCode: 0 });
      expect(meta.files).toContain('suites/browser/selftest.ui.spec.ts');
      const junit = readFileSync(path.join(outcome.dir, 'junit.xml'), 'utf8');
      expect(junit).toContain('<testsuite name="suites/browser/selftest.ui.spec.ts"');
      expect(junit).toContain('<skipped message="no Chromium"/>');
    });

    it('fails the run when a browser test fails, and runs no vitest for browser suites alone', async () => {
      const root = browserRepo();
      const vitest = fakeVitest(10);
      const playwright = fakePlaywright(1);
      const outcome = await runSuites({
        root,
        profile: 'smoke',
        argv: [],
        log: quiet,
        suites: ['e2e'],
        gate: false,
        vitest,
        playwright,
      });
      expect(vitest.calls).toBe(0);
      expect(playwright.files).toEqual([['suites/browser/selftest.ui.spec.ts']]);
      expect(outcome.tests).toEqual({ passed: 1, failed: 1, skipped: 1, total: 3 });
      expect(outcome.exitCode).toBe(1);
      const meta = JSON.parse(readFileSync(path.join(outcome.dir, 'run.json'), 'utf8'));
      expect(meta.vitestExitCode).toBeUndefined();
      expect(meta.playwrightExitCode).toBe(1);
    });
  });
});
