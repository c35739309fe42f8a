#!/usr/bin/env node
// Prints a markdown table of figures from a committed baseline, for the systems' READMEs:
// node scripts/figure-table.mjs <profile> <figure id or prefix>...
// Every row is the calibrated centre (median over the A/A runs) with its between-run spread, and
// the table names the runs it comes from, so a README figure always points at the baseline.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const [profile, ...wanted] = process.argv.slice(2);
if (!profile || wanted.length === 0) {
  console.error('usage: node scripts/figure-table.mjs <profile> <figure id or prefix>...');
  process.exit(2);
}
const file = path.join(import.meta.dirname, '..', 'reports', 'baselines', `${profile}.json`);
const baseline = JSON.parse(readFileSync(file, 'utf8'));
const si = (x) => {
  const a = Math.abs(x);
  if (a >= 1e9) return `${(x / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${(x / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(x / 1e3).toPrecision(3)}K`;
  return x.toPrecision(3);
};
const spread = (e) =>
  e.spread === undefined
    ? '-'
    : e.scale === 'linear'
      ? `± ${si(e.spread)} ${e.unit}`
      : `± ${(Math.expm1(e.spread) * 100).toFixed(1)}%`;
const rows = Object.entries(baseline.figures).filter(([id]) =>
  wanted.some((w) => id === w || id.startsWith(w)),
);
console.log('| figure | value (median of runs) | between-run spread | runs | ratio to reference |');
console.log('| --- | --- | --- | --- | --- |');
for (const [id, e] of rows) {
  const ref = e.referenceId ? `${e.ratio.toPrecision(3)}x \`${e.referenceId}\`` : '';
  console.log(`| \`${id}\` | ${si(e.value)} ${e.unit} | ${spread(e)} | ${e.runs ?? 1} | ${ref} |`);
}
const runs = baseline.calibration?.runIds ?? [baseline.runId];
console.log(
  `\nFrom \`reports/baselines/${profile}.json\`: runs ${runs.map((r) => `\`${r}\``).join(', ')} (commit ${baseline.commit ?? 'unknown'}${baseline.machine ? `, ${baseline.machine.cpu}, ${baseline.machine.cores} cores, Node ${baseline.machine.node}` : ''}).`,
);
