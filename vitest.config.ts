import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { encodeRigEnv, readRigEnv, runDirFromEnv } from './harness/run/env.ts';
import { blobFile, parseShard } from './harness/run/shard.ts';
import SummaryReporter from './harness/run/summary-reporter.ts';

// `rig run` sets RIG_RUN_DIR and RIG_TEST_TIMEOUT_MS (docs/environment.md); plain `npx vitest`
// writes to reports/adhoc. `rig run --shard I/N` sets RIG_SHARD: the shard's blob report is what
// `rig merge` hands to `vitest --merge-reports`.
const runDir = runDirFromEnv();
const env = readRigEnv();
const testTimeout = env.RIG_TEST_TIMEOUT_MS ?? 120_000;
const shard = env.RIG_SHARD ? parseShard(env.RIG_SHARD, 'RIG_SHARD') : undefined;

export default defineConfig({
  test: {
    setupFiles: ['allure-vitest/setup'],
    testTimeout,
    hookTimeout: testTimeout,
    teardownTimeout: 30_000,
    pool: 'forks',
    reporters: [
      process.env.CI ? 'verbose' : 'default',
      ['junit', { outputFile: path.join(runDir, 'junit.xml') }],
      new SummaryReporter({ outputFile: path.join(runDir, 'vitest-summary.json') }),
      ['allure-vitest/reporter', { resultsDir: path.join(runDir, 'allure-results') }],
      ...(shard
        ? [['blob', { outputFile: blobFile(runDir, shard) }] as ['blob', { outputFile: string }]]
        : []),
    ],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['harness/**/*.test.ts', 'systems/*/test/**/*.test.ts', 'fixtures/**/*.test.ts'],
          // `rig run --inject-slowdown` slows measured operations in suites; unit tests assert behaviour.
          env: encodeRigEnv({ RIG_INJECT_SLOWDOWN: undefined }),
          sequence: { groupOrder: 0 },
        },
      },
      {
        // Suites measure: one file at a time, so that they do not compete for the 2 cores.
        extends: true,
        test: {
          name: 'suites',
          include: ['suites/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
