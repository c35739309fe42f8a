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

/** The verdict table a person reads in a CI log; `all` includes figures nothing judged. */
export function formatVerdictTable(
  result: GateResult,
  options: { all?: boolean; width?: number } = {},
): string {
  const rows = result.verdicts.filter((v) => options.all || v.state !== 'new');
  const order: Verdict['state'][] = ['breach', 'regressed', 'invalid', 'missing', 'improved', 'pass', 'new'];
  rows.sort((a, b) => order.indexOf(a.state) - order.indexOf(b.state) || a.id.localeCompare(b.id));
  const header = `${cell('figure', 44)} ${cell('baseline', 12)} ${cell('now', 12)} ${cell('change', 20)} ${cell('detectable', 10)} ${cell('verdict', 11)} why`;
  const lines = rows.map((v) => {
    const base = v.baseline ? formatValue(v.baseline.value, v.baseline.unit) : '-';
    const now = v.now ? formatValue(v.now.value, v.now.unit) : '-';
    return `${cell(v.id, 44)} ${cell(base, 12)} ${cell(now, 12)} ${cell(describeChange(v), 20)} ${cell(describeMde(v), 10)} ${cell(VERDICT_LABEL[v.state], 11)} ${v.why}`;
  });
  const s = result.summary;
  const family = result.family ? `; ${result.family.method}` : '';
  const footer = `gate: ${s.pass} pass, ${s.improved} improved, ${s.regressed} regressed, ${s.breach} breach, ${s.invalid} no verdict (${result.noVerdict} of them with a rule or a baseline), ${s.missing} missing, ${s.new} recorded without a rule${family} -> exit ${result.exitCode}`;
  return [header, ...lines, footer].join('\n');
}
