import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type SkippedTest, skipReason } from '../run/summary-reporter.ts';
import { addSkipReasons, withSkipReasons } from './junit.ts';

// The shape vitest's junit reporter writes: file as classname, suite > test as name, logs first.
const JUNIT = `<?xml version="1.0" encoding="UTF-8" ?>
<testsuites name="vitest tests" tests="3" failures="0" errors="0" time="0.1">
    <testsuite name="suites/e2e/x.test.ts" tests="3" failures="0" errors="0" skipped="2" time="0.1">
        <testcase classname="suites/e2e/x.test.ts" name="reports &gt; opens &quot;index.html&quot;" time="0.001">
            <system-out>
[rig] no browser
            </system-out>
            <skipped/>
        </testcase>
        <testcase classname="suites/e2e/x.test.ts" name="reports &gt; todo" time="0">
            <skipped/>
        </testcase>
        <testcase classname="suites/e2e/x.test.ts" name="reports &gt; runs" time="0.002">
        </testcase>
    </testsuite>
</testsuites>
`;

const skips: SkippedTest[] = [
  {
    file: 'suites/e2e/x.test.ts',
    name: 'reports > opens "index.html"',
    reason: 'Chromium is not installed: \u001b[31mnpx playwright install\u001b[39m <chromium> & retry',
  },
];

const dir = mkdtempSync(path.join(os.tmpdir(), 'rig-junit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('junit.xml skip reasons', () => {
  it('gives each skipped test case its reason, escaped, and leaves the others alone', () => {
    const { xml, annotated } = withSkipReasons(JUNIT, skips);
    expect(annotated).toBe(1);
    expect(xml).toContain(
      '<skipped message="Chromium is not installed: npx playwright install &lt;chromium&gt; &amp; retry"/>',
    );
    // The test without a known reason keeps its bare element; passed tests are untouched.
    expect(xml.match(/<skipped\/>/g)).toHaveLength(1);
    expect(xml.replace(/<skipped message="[^"]*"\/>/, '<skipped/>')).toBe(JUNIT);
    // Idempotent: a second pass finds nothing left to annotate.
    expect(withSkipReasons(xml, skips)).toEqual({ xml, annotated: 0 });
  });

  it('rewrites a run directory junit.xml from vitest-summary.json', () => {
    writeFileSync(path.join(dir, 'junit.xml'), JUNIT);
    writeFileSync(path.join(dir, 'vitest-summary.json'), JSON.stringify({ skipped: 2, skips }));
    expect(addSkipReasons({ dir })).toBe(1);
    expect(readFileSync(path.join(dir, 'junit.xml'), 'utf8')).toContain('<skipped message="Chromium');
    expect(addSkipReasons({ dir: path.join(dir, 'missing') })).toBe(0);
  });

  it('takes the reason from ctx.skip(note), else says how the test was marked', () => {
    const test = (mode: 'skip' | 'todo', note?: string) => ({
      options: { mode },
      result: () => ({ state: 'skipped', note }),
    });
    expect(skipReason(test('skip', 'Docker is not available'))).toBe('Docker is not available');
    expect(skipReason(test('todo'))).toBe('todo');
    expect(skipReason(test('skip'))).toMatch(/without a reason/);
  });
});
