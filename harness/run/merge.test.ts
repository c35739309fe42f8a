import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addSkipReasons } from '../report/junit.ts';
import { mergeBrowserJunit, mergeJunit, runCounts, runSkips, sumCounts } from './merge.ts';
import { exactFileFilter } from './playwright.ts';

// The shapes the two junit reporters write: vitest's (file paths from the repository root, no
// `skipped` on the root) and Playwright's (paths from its testDir, empty element pairs).
const VITEST = `<?xml version="1.0" encoding="UTF-8" ?>
<testsuites name="vitest tests" tests="2" failures="1" errors="0" time="1.5">
    <testsuite name="suites/e2e/a.test.ts" timestamp="2026-12-01T00:00:00.000Z" hostname="vm" tests="2" failures="1" errors="0" skipped="0" time="1.5">
        <testcase classname="suites/e2e/a.test.ts" name="a &gt; works" time="0.5">
        </testcase>
        <testcase classname="suites/e2e/a.test.ts" name="a &gt; breaks" time="1">
            <failure message="expected 1 to be 2" type="AssertionError">boom</failure>
        </testcase>
    </testsuite>
</testsuites>
`;

const PLAYWRIGHT = `<testsuites id="" name="" tests="3" failures="0" skipped="1" errors="0" time="4.25">
<testsuite name="spaces.e2e.spec.ts" timestamp="2026-12-01T00:00:02.000Z" hostname="" tests="2" failures="0" skipped="1" time="3" errors="0">
<testcase name="spaces web UI › submits" classname="spaces.e2e.spec.ts" time="3">
</testcase>
<testcase name="spaces web UI › shows &lt;script&gt; as text" classname="spaces.e2e.spec.ts" time="0">
<properties>
<property name="skip" value="no Chromium">
</property>
</properties>
<skipped>
</skipped>
</testcase>
</testsuite>
<testsuite name="harness.reports.spec.ts" timestamp="2026-12-01T00:00:02.000Z" hostname="" tests="1" failures="0" skipped="0" time="1.25" errors="0">
<testcase name="reports › open" classname="harness.reports.spec.ts" time="1.25">
</testcase>
</testsuite>
</testsuites>`;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function runDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rig-merge-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

const rootTag = (xml: string) => /<testsuites\b[^>]*>/.exec(xml)![0];

describe('merging the browser suites junit.xml into the run', () => {
  it("adds Playwright's test suites after vitest's, with the files relative to the repository", () => {
    const merged = mergeJunit(VITEST, PLAYWRIGHT, 'suites/browser/');
    const names = [...merged.matchAll(/<testsuite name="([^"]*)"/g)].map((m) => m[1]);
    expect(names).toEqual([
      'suites/e2e/a.test.ts',
      'suites/browser/spaces.e2e.spec.ts',
      'suites/browser/harness.reports.spec.ts',
    ]);
    expect(merged).toContain('classname="suites/browser/spaces.e2e.spec.ts" time="3"');
    expect(merged).not.toContain('classname="spaces.e2e.spec.ts"');
    // vitest's part is unchanged, and the document still has one root.
    expect(merged).toContain(VITEST.slice(VITEST.indexOf('    <testsuite'), VITEST.indexOf('</testsuites>')));
    expect(merged.match(/<testsuites\b/g)).toHaveLength(1);
    expect(merged.trimEnd().endsWith('</testsuites>')).toBe(true);
  });

  it('sets the root totals to the sums over every suite', () => {
    const root = rootTag(mergeJunit(VITEST, PLAYWRIGHT, 'suites/browser/'));
    expect(root).toContain('tests="5"');
    expect(root).toContain('failures="1"');
    expect(root).toContain('errors="0"');
    expect(root).toContain('skipped="1"');
    expect(root).toContain('time="5.750"');
    expect(root).toContain('name="vitest tests"');
  });

  it('writes a bare <skipped/> so that the skip reasons reach browser tests too', () => {
    const merged = mergeJunit(VITEST, PLAYWRIGHT, 'suites/browser/');
    expect(merged).not.toMatch(/<skipped>\s*<\/skipped>/);
    expect(merged.match(/<skipped\/>/g)).toHaveLength(1);
  });

  it('is idempotent, and makes a document of its own when vitest wrote none', () => {
    const once = mergeJunit(VITEST, PLAYWRIGHT, 'suites/browser/');
    expect(mergeJunit(once, PLAYWRIGHT, 'suites/browser/')).toBe(once);
    const alone = mergeJunit(undefined, PLAYWRIGHT, 'suites/browser/');
    expect(alone.startsWith('<?xml')).toBe(true);
    expect(rootTag(alone)).toContain('tests="3"');
    expect(alone.match(/<testsuite name=/g)).toHaveLength(2);
  });

  it("folds a run directory's playwright-junit.xml into junit.xml, then gives its skips their reasons", () => {
    const dir = runDir({
      'junit.xml': VITEST,
      'playwright-junit.xml': PLAYWRIGHT,
      'playwright-summary.json': JSON.stringify({
        passed: 2,
        failed: 0,
        skipped: 1,
        total: 3,
        skips: [
          {
            file: 'suites/browser/spaces.e2e.spec.ts',
            name: 'spaces web UI › shows <script> as text',
            reason: 'no Chromium at /usr/bin/chromium',
          },
        ],
      }),
    });
    expect(mergeBrowserJunit(dir, 'suites/browser/')).toBe(true);
    expect(addSkipReasons({ dir })).toBe(1);
    const xml = readFileSync(path.join(dir, 'junit.xml'), 'utf8');
    expect(xml).toContain('<skipped message="no Chromium at /usr/bin/chromium"/>');
    expect(rootTag(xml)).toContain('tests="5"');
    expect(mergeBrowserJunit(runDir({}), 'suites/browser/')).toBe(false);
  });
});

describe("the run's test counts", () => {
  it("add vitest's and Playwright's; a runner that wrote nothing adds nothing", () => {
    const vitest = { passed: 10, failed: 1, skipped: 2, total: 13 };
    const browser = { passed: 3, failed: 0, skipped: 1, total: 4 };
    expect(sumCounts([vitest, browser])).toEqual({ passed: 13, failed: 1, skipped: 3, total: 17 });
    expect(sumCounts([vitest, undefined])).toEqual(vitest);
    expect(sumCounts([undefined, undefined])).toBeUndefined();
  });

  it('are read from both summaries of a run directory, ignoring a torn one', () => {
    const skips = [{ file: 'suites/browser/x.spec.ts', name: 'x', reason: 'no Chromium' }];
    const dir = runDir({
      'vitest-summary.json': JSON.stringify({ passed: 4, failed: 0, skipped: 0, total: 4, skips: [] }),
      'playwright-summary.json': JSON.stringify({ passed: 1, failed: 1, skipped: 1, total: 3, skips }),
    });
    expect(runCounts(dir)).toEqual({ passed: 5, failed: 1, skipped: 1, total: 7 });
    expect(runSkips(dir)).toEqual(skips);
    const torn = runDir({
      'vitest-summary.json': JSON.stringify({ passed: 4, failed: 0, skipped: 0, total: 4 }),
      'playwright-summary.json': '{"passed": 1, "fail',
    });
    expect(runCounts(torn)).toEqual({ passed: 4, failed: 0, skipped: 0, total: 4 });
    expect(runCounts(runDir({}))).toBeUndefined();
  });
});

describe('Playwright file filters', () => {
  it('match the one spec named, whatever its dots and whichever the separator', () => {
    const re = new RegExp(exactFileFilter('suites/browser/a.spec.ts'));
    expect(re.test('/repo/suites/browser/a.spec.ts')).toBe(true);
    expect(re.test('C:\\repo\\suites\\browser\\a.spec.ts')).toBe(true);
    expect(re.test('/repo/suites/browser/xa.spec.ts')).toBe(false);
    expect(re.test('/repo/suites/browser/aXspec.ts')).toBe(false);
  });
});
