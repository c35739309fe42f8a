import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * A vitest reporter that writes only the counts `rig run` needs (vitest-summary.json), so that a
 * failure with a huge message cannot break the run's bookkeeping.
 */
export default class SummaryReporter implements Reporter {
  constructor(private readonly options: { outputFile: string }) {}

  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<unknown>,
    reason: string,
  ): void {
    const counts = { passed: 0, failed: 0, skipped: 0, total: 0 };
    const failedFiles: string[] = [];
    for (const module of testModules) {
      let moduleFailed = module.state() === 'failed';
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        counts.total++;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') {
          counts.failed++;
          moduleFailed = true;
        } else counts.skipped++;
      }
      if (moduleFailed) failedFiles.push(module.relativeModuleId);
    }
    mkdirSync(path.dirname(this.options.outputFile), { recursive: true });
    writeFileSync(
      this.options.outputFile,
      `${JSON.stringify({ ...counts, failedFiles, unhandledErrors: unhandledErrors.length, reason }, null, 2)}\n`,
    );
  }
}
