import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FullConfig, FullResult, Reporter, Suite, TestCase, TestError } from '@playwright/test/reporter';
import type { SkippedTest } from './summary-reporter.ts';

/** How Playwright's junit reporter names a test case: its titles below the file, joined by ` › `. */
export function junitCaseName(test: Pick<TestCase, 'titlePath'>): string {
  return test.titlePath().slice(3).join(' \u203a ');
}

/** Why a skipped test was skipped: the description of its `skip` (or `fixme`) annotation. */
export function playwrightSkipReason(test: Pick<TestCase, 'annotations'>): string {
  const note = test.annotations.find((a) => a.type === 'skip' || a.type === 'fixme');
  if (note?.description) return note.description;
  if (note?.type === 'fixme') return 'fixme';
  return 'skipped without a reason (test.skip() with no description)';
}

/**
 * The Playwright twin of SummaryReporter: writes playwright-summary.json for `rig run`, with the
 * counts, the failed files, the errors outside any test (a spec that does not load) and each
 * skipped test with its reason, keyed as the merged junit.xml keys it (the file relative to the
 * repository, the name as Playwright's junit reporter writes it).
 */
export default class PlaywrightSummaryReporter implements Reporter {
  private rootDir = process.cwd();
  private suite: Suite | undefined;
  private readonly errors: string[] = [];

  constructor(private readonly options: { outputFile: string }) {}

  printsToStdio(): boolean {
    return false;
  }

  onBegin(config: FullConfig, suite: Suite): void {
    // config.rootDir is the test directory; files are keyed relative to the repository (the config's).
    if (config.configFile) this.rootDir = path.dirname(config.configFile);
    this.suite = suite;
  }

  onError(error: TestError): void {
    this.errors.push((error.message ?? error.value ?? 'unknown error').slice(0, 2000));
  }

  onEnd(result: FullResult): void {
    const counts = { passed: 0, failed: 0, skipped: 0, total: 0 };
    const failedFiles = new Set<string>();
    const skips: SkippedTest[] = [];
    for (const test of this.suite?.allTests() ?? []) {
      const file = path.relative(this.rootDir, test.location.file).split(path.sep).join('/');
      const outcome = test.outcome();
      counts.total++;
      if (outcome === 'expected' || outcome === 'flaky') counts.passed++;
      else if (outcome === 'unexpected') {
        counts.failed++;
        failedFiles.add(file);
      } else {
        counts.skipped++;
        skips.push({ file, name: junitCaseName(test), reason: playwrightSkipReason(test) });
      }
    }
    mkdirSync(path.dirname(this.options.outputFile), { recursive: true });
    writeFileSync(
      this.options.outputFile,
      `${JSON.stringify(
        {
          ...counts,
          failedFiles: [...failedFiles],
          unhandledErrors: this.errors.length,
          errors: this.errors,
          reason: result.status,
          skips,
        },
        null,
        2,
      )}\n`,
    );
  }
}
