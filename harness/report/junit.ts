import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runSkips } from '../run/merge.ts';
import type { SkippedTest } from '../run/summary-reporter.ts';
import type { RunData } from './run-data.ts';

// Control characters (ANSI colour codes included) are not allowed in XML 1.0.
// biome-ignore lint/suspicious/noControlCharactersInRegex: they are what it removes
const CONTROL = /\x1b\[[0-9;]*m|[\x00-\x08\x0b\x0c\x0e-\x1f]/g;

const esc = (s: string) =>
  s
    .replace(CONTROL, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\n/g, '&#10;');

const unesc = (s: string) =>
  s.replace(
    /&(amp|lt|gt|quot|apos|#(\d+)|#x([0-9a-f]+));/gi,
    (whole, name: string, dec?: string, hex?: string) => {
      if (dec) return String.fromCodePoint(Number(dec));
      if (hex) return String.fromCodePoint(Number.parseInt(hex, 16));
      const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
      return named[name.toLowerCase()] ?? whole;
    },
  );

function attribute(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? unesc(m[1]!) : undefined;
}

/**
 * vitest's junit reporter writes a bare `<skipped/>` for every skipped test. This gives each the
 * reason it was skipped with, matched by test case (`classname` = file, `name` = full name), and
 * leaves alone what already carries a message or has no known reason. Idempotent.
 */
export function withSkipReasons(
  xml: string,
  skips: ReadonlyArray<SkippedTest>,
): { xml: string; annotated: number } {
  const byCase = new Map(skips.map((s) => [`${s.file}\0${s.name}`, s.reason]));
  let annotated = 0;
  const out = xml.replace(/<testcase\b[^>]*>[\s\S]*?<\/testcase>/g, (block) => {
    if (!block.includes('<skipped/>')) return block;
    const tag = block.slice(0, block.indexOf('>') + 1);
    const reason = byCase.get(`${attribute(tag, 'classname')}\0${attribute(tag, 'name')}`);
    if (reason === undefined) return block;
    annotated++;
    return block.replace('<skipped/>', `<skipped message="${esc(reason)}"/>`);
  });
  return { xml: out, annotated };
}

/**
 * Put the skip reasons that the summary reporters kept (vitest-summary.json,
 * playwright-summary.json) into the run's junit.xml, which holds both runners' tests.
 */
export function addSkipReasons(run: Pick<RunData, 'dir'>): number {
  const junit = path.join(run.dir, 'junit.xml');
  if (!existsSync(junit)) return 0;
  const skips = runSkips(run.dir);
  if (!skips.length) return 0;
  const { xml, annotated } = withSkipReasons(readFileSync(junit, 'utf8'), skips);
  if (annotated > 0) writeFileSync(junit, xml);
  return annotated;
}

/**
 * The `junit` report. junit.xml comes from vitest's junit reporter with Playwright's browser
 * suites merged in by `rig run` (harness/run/merge.ts); this first gives
 * its skipped tests their reasons (addSkipReasons), then writes gate.junit.xml: one test case per
 * judged figure, so CI systems show breaches and regressions as failures.
 */
export function writeGateJunit(run: RunData): string | undefined {
  addSkipReasons(run);
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
