import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunData } from './run-data.ts';

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * junit.xml comes from vitest's junit reporter (the tests). This adds gate-verdicts.junit.xml:
 * one test case per judged figure, so CI systems show breaches and regressions as failures.
 */
export function writeGateJunit(run: RunData): string | undefined {
  if (!run.verdicts) return undefined;
  const judged = run.verdicts.filter((v) => v.state !== 'new');
  const failures = judged.filter((v) => v.state === 'breach' || v.state === 'regressed').length;
  const skipped = judged.filter((v) => v.state === 'invalid' || v.state === 'missing').length;
  const cases = judged
    .map((v) => {
      const inner =
        v.state === 'breach' || v.state === 'regressed'
          ? `<failure message="${esc(v.why)}" type="${v.state}"/>`
          : v.state === 'invalid' || v.state === 'missing'
            ? `<skipped message="${esc(v.why)}"/>`
            : '';
      return `    <testcase classname="rig.gate" name="${esc(v.id)}">${inner}</testcase>`;
    })
    .join('\n');
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="rig gate">\n  <testsuite name="gate ${esc(run.meta.runId)}" tests="${judged.length}" failures="${failures}" skipped="${skipped}">\n${cases}\n  </testsuite>\n</testsuites>\n`;
  const file = path.join(run.dir, 'gate.junit.xml');
  writeFileSync(file, xml);
  return file;
}

export function junitPath(run: RunData): string | undefined {
  const file = path.join(run.dir, 'junit.xml');
  return existsSync(file) ? file : undefined;
}
