import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/** A skipped test and why: `file` and `name` as vitest's junit reporter writes them. */
export interface SkippedTest {
  /** Path relative to the root (junit's `classname`). */
  file: string;
  /** Suite names and the test's, joined by ` > ` (junit's `name`). */
  name: string;
  reason: string;
}

/** Why a skipped test was skipped: the note given to `ctx.skip(note)`, else how it was marked. */
export function skipReason(test: {
  options: { mode: string };
  result(): { state: string; note?: string | undefined };
}): string {
  const note = test.result().note;
  if (note) return note;
  if (test.options.mode === 'todo') return 'todo';
  return 'skipped without a reason (.skip, .skipIf or ctx.skip() with no note)';
}

/**
 * A vitest reporter that writes only what `rig run` needs (vitest-summary.json): the counts, and
 * each skipped test with its reason, which vitest's junit reporter leaves out (the `junit` report
 * puts them back into junit.xml). A failure with a huge message cannot break the bookkeeping.
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
    const skips: SkippedTest[] = [];
    for (const module of testModules) {
      let moduleFailed = module.state() === 'failed';
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        counts.total++;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') {
          counts.failed++;
          moduleFailed = true;
        } else {
          counts.skipped++;
          if (state === 'skipped') {
            skips.push({ file: module.relativeModuleId, name: test.fullName, reason: skipReason(test) });
          }
        }
      }
      if (moduleFailed) failedFiles.push(module.relativeModuleId);
    }
    mkdirSync(path.dirname(this.options.outputFile), { recursive: true });
    writeFileSync(
      this.options.outputFile,
      `${JSON.stringify({ ...counts, failedFiles, unhandledErrors: unhandledErrors.length, reason, skips }, null, 2)}\n`,
    );
  }
}
