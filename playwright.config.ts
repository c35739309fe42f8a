import path from 'node:path';
import { defineConfig } from '@playwright/test';
import { profile } from './harness/config/profile.ts';
import { CHROMIUM_ARGS, chromiumExecutable } from './harness/run/chromium.ts';
import { readRigEnv, runDirFromEnv } from './harness/run/env.ts';

// Browser suites (suites/browser/*.spec.ts). `rig run` runs them after vitest with the run's
// RIG_* environment (docs/environment.md), so that their junit, Allure results, counts and figures
// land in the same run directory; plain `npx playwright test` writes to reports/adhoc.
const runDir = runDirFromEnv();
const timeout = readRigEnv().RIG_TEST_TIMEOUT_MS ?? profile().testTimeoutMs;
const executablePath = chromiumExecutable();

export default defineConfig({
  testDir: 'suites/browser',
  testMatch: '**/*.spec.ts',
  outputDir: path.join(runDir, 'playwright-output'),
  // The machines are 2-core: one browser at a time, like vitest's suites project.
  workers: 1,
  fullyParallel: false,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  timeout,
  expect: { timeout: 10_000 },
  reporter: [
    [process.env.CI ? 'list' : 'line'],
    ['junit', { outputFile: path.join(runDir, 'playwright-junit.xml') }],
    [
      './harness/run/playwright-summary-reporter.ts',
      { outputFile: path.join(runDir, 'playwright-summary.json') },
    ],
    ['allure-playwright', { resultsDir: path.join(runDir, 'allure-results') }],
  ],
  use: {
    browserName: 'chromium',
    headless: true,
    // Without a Chromium the suites skip themselves (chromiumUnavailableReason) before launching.
    launchOptions: { ...(executablePath ? { executablePath } : {}), args: [...CHROMIUM_ARGS] },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
