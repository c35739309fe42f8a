// Folding the browser suites' results (Playwright) into the run that vitest started: junit.xml,
// the test counts, and the skip reasons. Allure results and figures need no merge: both runners
// write them into the same run directory (allure-results/, figures.jsonl).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SkippedTest } from './summary-reporter.ts';

/** A runner's test counts, as vitest-summary.json and playwright-summary.json hold them. */
export interface TestCounts {
  passed: number;
  failed: number;
  skipped: number;
  total: number;
}

/** What either runner's summary reporter writes; fields a crashed writer left out are absent. */
export interface RunnerSummary extends TestCounts {
  skips?: SkippedTest[];
  failedFiles?: string[];
  unhandledErrors?: number;
}

/** The summary file each runner's reporter writes into the run directory, in run order. */
export const SUMMARY_FILES = ['vitest-summary.json', 'playwright-summary.json'] as const;

function readPartial(file: string): Partial<RunnerSummary> | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Partial<RunnerSummary>;
  } catch {
    return undefined;
  }
}

/** A summary file's content, or undefined when it is missing or has no counts (a killed runner). */
export function readSummary(file: string): RunnerSummary | undefined {
  const j = readPartial(file);
  if (!j || ![j.passed, j.failed, j.skipped, j.total].every((n) => typeof n === 'number')) return undefined;
  return j as RunnerSummary;
}

/** The sum of the counts of the runners that wrote one; undefined when none did. */
export function sumCounts(parts: ReadonlyArray<TestCounts | undefined>): TestCounts | undefined {
  const present = parts.filter((p): p is TestCounts => p !== undefined);
  if (present.length === 0) return undefined;
  const total = { passed: 0, failed: 0, skipped: 0, total: 0 };
  for (const p of present) {
    total.passed += p.passed;
    total.failed += p.failed;
    total.skipped += p.skipped;
    total.total += p.total;
  }
  return total;
}

/** The run's counts: vitest's and Playwright's summaries added up. */
export function runCounts(dir: string): TestCounts | undefined {
  return sumCounts(SUMMARY_FILES.map((f) => readSummary(path.join(dir, f))));
}

/** Every skipped test with its reason, from both runners' summaries. */
export function runSkips(dir: string): SkippedTest[] {
  return SUMMARY_FILES.flatMap((f) => readPartial(path.join(dir, f))?.skips ?? []);
}

const SUITE = /<testsuite\b[^>]*\/>|<testsuite\b[^>]*[^/]>[\s\S]*?<\/testsuite>/g;
const EMPTY_JUNIT = '<?xml version="1.0" encoding="UTF-8" ?>\n<testsuites name="rig tests">\n</testsuites>\n';

function attr(tag: string, name: string): string | undefined {
  return new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
}

function setAttr(tag: string, name: string, value: string): string {
  const re = new RegExp(`(\\s${name}=")[^"]*(")`);
  if (re.test(tag)) return tag.replace(re, `$1${value}$2`);
  return tag.replace(/\s*(\/?)>$/, ` ${name}="${value}"$1>`);
}

/**
 * One of Playwright's `<testsuite>` elements in the shape of vitest's: the file (suite `name`,
 * case `classname`) relative to the repository instead of to the test directory (`prefix`, e.g.
 * `suites/browser/`), and a bare `<skipped/>` where Playwright writes an empty element pair, so
 * that the skip reasons are added to both alike (harness/report/junit.ts).
 */
export function normaliseSuite(suite: string, prefix: string): string {
  const withPrefix = (value: string | undefined) =>
    value === undefined || value.startsWith(prefix) ? value : `${prefix}${value}`;
  return suite
    .replace(/<testsuite\b[^>]*>/, (tag) => {
      const name = withPrefix(attr(tag, 'name'));
      return name === undefined ? tag : setAttr(tag, 'name', name);
    })
    .replace(/<testcase\b[^>]*>/g, (tag) => {
      const classname = withPrefix(attr(tag, 'classname'));
      return classname === undefined ? tag : setAttr(tag, 'classname', classname);
    })
    .replace(/<skipped>\s*<\/skipped>/g, '<skipped/>');
}

/**
 * Adds the `<testsuite>` elements of `extra` (Playwright's junit.xml) to `base` (vitest's, or none
 * when vitest did not run), and sets the root's `tests`, `failures`, `errors`, `skipped` and `time`
 * to the sums over all the suites. A suite already in `base` (same `name`) is not added again, so
 * merging twice changes nothing.
 */
export function mergeJunit(base: string | undefined, extra: string, prefix = ''): string {
  const doc = base?.includes('</testsuites>') ? base : EMPTY_JUNIT;
  const present = new Set((doc.match(SUITE) ?? []).map((s) => attr(s, 'name')));
  const added = (extra.match(SUITE) ?? [])
    .map((s) => normaliseSuite(s, prefix))
    .filter((s) => !present.has(attr(s, 'name')));
  const end = doc.lastIndexOf('</testsuites>');
  const merged = `${doc.slice(0, end)}${added.map((s) => `${s}\n`).join('')}${doc.slice(end)}`;
  const totals = { tests: 0, failures: 0, errors: 0, skipped: 0, time: 0 };
  for (const suite of merged.match(SUITE) ?? []) {
    const tag = suite.slice(0, suite.indexOf('>') + 1);
    for (const key of Object.keys(totals) as Array<keyof typeof totals>) {
      totals[key] += Number(attr(tag, key) ?? 0) || 0;
    }
  }
  return merged.replace(/<testsuites\b[^>]*>/, (tag) => {
    let out = tag;
    for (const [key, value] of Object.entries(totals)) {
      out = setAttr(out, key, key === 'time' ? value.toFixed(3) : String(value));
    }
    return out;
  });
}

/**
 * Folds playwright-junit.xml into the run's junit.xml (written from scratch when vitest wrote none).
 * Returns whether there was anything to fold.
 */
export function mergeBrowserJunit(dir: string, prefix: string): boolean {
  const extra = path.join(dir, 'playwright-junit.xml');
  if (!existsSync(extra)) return false;
  const target = path.join(dir, 'junit.xml');
  const base = existsSync(target) ? readFileSync(target, 'utf8') : undefined;
  writeFileSync(target, mergeJunit(base, readFileSync(extra, 'utf8'), prefix));
  return true;
}
