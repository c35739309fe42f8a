import { describe, expect, it } from 'vitest';
import type { GateResult, Verdict } from './evaluate.ts';
import { formatVerdictMarkdown, formatVerdictTable, markdownCell } from './table.ts';

const summary = { pass: 1, improved: 0, regressed: 1, breach: 1, invalid: 0, new: 1, missing: 0 };

function result(verdicts: Verdict[], exitCode: GateResult['exitCode'] = 1): GateResult {
  return { verdicts, exitCode, noVerdict: 0, summary };
}

const verdicts: Verdict[] = [
  { id: 'a.pass.p99', state: 'pass', rules: [], why: 'within 1.2 spreads', now: { value: 10, unit: 'us' } },
  { id: 'z.new.p50', state: 'new', rules: [], why: 'no rule, no baseline', now: { value: 1, unit: 'ms' } },
  {
    id: 'b.slow.p99',
    state: 'regressed',
    rules: [],
    why: 'slower | by 3 spreads\nsecond line',
    now: { value: 13, unit: 'us' },
    baseline: { value: 10, unit: 'us' } as Verdict['baseline'],
    change: -0.3,
  },
  {
    id: 'c.rule|odd.p99',
    state: 'breach',
    rules: [],
    why: 'p99 < 50us broken',
    now: { value: 80, unit: 'us' },
  },
];

/** The cells of a Markdown table row, split on the pipes that are not escaped. */
const cells = (row: string) =>
  row
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());

describe('the verdict table in Markdown', () => {
  it('leads with the verdict, then breaches and regressions, every row with seven cells', () => {
    const md = formatVerdictMarkdown(result(verdicts), { title: 'run r1, profile smoke' });
    const lines = md.split('\n');
    expect(lines[0]).toBe(
      '**rig gate (run r1, profile smoke): FAIL: a threshold breach or a regression** (exit 1)',
    );
    const rows = lines.filter((l) => l.startsWith('| '));
    expect(cells(rows[0]!)).toEqual(['figure', 'baseline', 'now', 'change', 'detectable', 'verdict', 'why']);
    expect(rows[1]).toBe('| --- | ---: | ---: | ---: | ---: | --- | --- |');
    const body = rows.slice(2).map(cells);
    expect(body.map((c) => c.length)).toEqual([7, 7, 7]);
    expect(body.map((c) => c[5])).toEqual(['**BREACH**', '**REGRESSED**', 'pass']);
    // `|` in a cell is escaped, a line break is a space, `<` cannot open a tag
    expect(body[0]![0]).toBe('`c.rule\\|odd.p99`');
    expect(body[0]![6]).toBe('p99 &lt; 50us broken');
    expect(body[1]![6]).toBe('slower \\| by 3 spreads second line');
    expect(md).not.toContain('z.new.p50');
    expect(formatVerdictMarkdown(result(verdicts), { all: true })).toContain('z.new.p50');
    const short = formatVerdictMarkdown(result(verdicts), { maxRows: 2 });
    expect(short).not.toContain('a.pass.p99');
    expect(short).toContain('1 more figures in verdicts.json');
    expect(md.trimEnd().split('\n').at(-1)).toMatch(/^1 pass, 0 improved, 1 regressed, 1 breach/);
  });

  it('says so when nothing was judged, and a pass is a pass', () => {
    expect(formatVerdictMarkdown(result([], 2))).toMatch(
      /^\*\*rig gate: no verdict: nothing could be judged\*\* \(exit 2\)\n\nNo figure/,
    );
    expect(formatVerdictMarkdown(result([verdicts[0]!], 0))).toMatch(/^\*\*rig gate: pass\*\* \(exit 0\)/);
  });

  it('markdownCell escapes what would break a table, and the text table keeps its order', () => {
    expect(markdownCell('a|b <i> & c\r\n d')).toBe('a\\|b &lt;i&gt; &amp; c d');
    const text = formatVerdictTable(result(verdicts)).split('\n');
    expect(text[1]).toMatch(/^c\.rule\|odd\.p99/);
    expect(text[2]).toMatch(/^b\.slow\.p99/);
    expect(text.at(-1)).toMatch(/^gate: 1 pass, .* -> exit 1$/);
  });
});
