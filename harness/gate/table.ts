import { formatValue } from '../measure/units.ts';
import { describeChange, describeMde, type GateResult, type Verdict } from './evaluate.ts';

/** How each verdict reads in tables and reports. */
export const VERDICT_LABEL: Record<Verdict['state'], string> = {
  pass: 'pass',
  improved: 'improved',
  regressed: 'REGRESSED',
  breach: 'BREACH',
  invalid: 'no verdict',
  new: 'recorded',
  missing: 'missing',
};

function cell(s: string, width: number): string {
  return s.length > width ? `${s.slice(0, width - 1)}…` : s.padEnd(width);
}

/** Verdicts in the order a reader needs them: breaches and regressions first, then by id. */
const ORDER: Verdict['state'][] = ['breach', 'regressed', 'invalid', 'missing', 'improved', 'pass', 'new'];

function sortedRows(result: GateResult, all: boolean | undefined): Verdict[] {
  return result.verdicts
    .filter((v) => all || v.state !== 'new')
    .sort((a, b) => ORDER.indexOf(a.state) - ORDER.indexOf(b.state) || a.id.localeCompare(b.id));
}

/** The counts line both tables end with. */
function summaryLine(result: GateResult): string {
  const s = result.summary;
  const family = result.family ? `; ${result.family.method}` : '';
  return `${s.pass} pass, ${s.improved} improved, ${s.regressed} regressed, ${s.breach} breach, ${s.invalid} no verdict (${result.noVerdict} of them with a rule or a baseline), ${s.missing} missing, ${s.new} recorded without a rule${family}`;
}

/** The verdict table a person reads in a CI log; `all` includes figures nothing judged. */
export function formatVerdictTable(
  result: GateResult,
  options: { all?: boolean; width?: number } = {},
): string {
  const rows = sortedRows(result, options.all);
  const header = `${cell('figure', 44)} ${cell('baseline', 12)} ${cell('now', 12)} ${cell('change', 20)} ${cell('detectable', 10)} ${cell('verdict', 11)} why`;
  const lines = rows.map((v) => {
    const base = v.baseline ? formatValue(v.baseline.value, v.baseline.unit) : '-';
    const now = v.now ? formatValue(v.now.value, v.now.unit) : '-';
    return `${cell(v.id, 44)} ${cell(base, 12)} ${cell(now, 12)} ${cell(describeChange(v), 20)} ${cell(describeMde(v), 10)} ${cell(VERDICT_LABEL[v.state], 11)} ${v.why}`;
  });
  const footer = `gate: ${summaryLine(result)} -> exit ${result.exitCode}`;
  return [header, ...lines, footer].join('\n');
}

/**
 * A Markdown table cell: `|` escaped, HTML's `<`, `>` and `&` as entities, line breaks as spaces,
 * so that no value can break the table or inject markup.
 */
export function markdownCell(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .trim();
}

/** The headline of each gate exit code. */
const HEADLINE: Record<GateResult['exitCode'], string> = {
  0: 'pass',
  1: 'FAIL: a threshold breach or a regression',
  2: 'no verdict: nothing could be judged',
};

/**
 * The verdict table as GitHub-flavoured Markdown, for a CI job summary ($GITHUB_STEP_SUMMARY):
 * a one-line headline verdict, then figure, baseline, now, change, detectable, verdict and why,
 * breaches and regressions first, then the counts. `title` names the run; `all` adds the figures
 * nothing judged; past `maxRows` (default 500) the rest are counted, not listed: GitHub keeps at
 * most 1 MiB of a step's summary.
 */
export function formatVerdictMarkdown(
  result: GateResult,
  options: { title?: string; all?: boolean; maxRows?: number } = {},
): string {
  const all = sortedRows(result, options.all);
  const rows = all.slice(0, options.maxRows ?? 500);
  const headline = `**rig gate${options.title ? ` (${markdownCell(options.title)})` : ''}: ${HEADLINE[result.exitCode]}** (exit ${result.exitCode})`;
  const table = [
    '| figure | baseline | now | change | detectable | verdict | why |',
    '| --- | ---: | ---: | ---: | ---: | --- | --- |',
    ...rows.map((v) => {
      const cells = [
        // in a code span only the table's own `|` needs its escape (GFM splits cells first)
        `\`${v.id.replace(/`/g, "'").replace(/\|/g, '\\|')}\``,
        markdownCell(v.baseline ? formatValue(v.baseline.value, v.baseline.unit) : '-'),
        markdownCell(v.now ? formatValue(v.now.value, v.now.unit) : '-'),
        markdownCell(describeChange(v)),
        markdownCell(describeMde(v)),
        v.state === 'breach' || v.state === 'regressed'
          ? `**${VERDICT_LABEL[v.state]}**`
          : VERDICT_LABEL[v.state],
        markdownCell(v.why),
      ];
      return `| ${cells.join(' | ')} |`;
    }),
  ];
  return [
    headline,
    '',
    ...(rows.length > 0 ? table : ['No figure had a rule or a baseline to be judged against.']),
    ...(all.length > rows.length ? ['', `${all.length - rows.length} more figures in verdicts.json`] : []),
    '',
    summaryLine(result),
    '',
  ].join('\n');
}
