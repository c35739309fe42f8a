import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describeChange, describeMde, type Verdict } from '../gate/evaluate.ts';
import { VERDICT_LABEL } from '../gate/table.ts';
import type { Figure } from '../measure/figure.ts';
import { formatValue } from '../measure/units.ts';
import type { RunData } from './run-data.ts';

const require = createRequire(import.meta.url);

export const esc = (s: unknown): string =>
  String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** JSON safe inside a <script> element. */
export const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c');

function chartLibrary(): string {
  return readFileSync(path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

const STATE_LABEL: Record<string, string> = VERDICT_LABEL;

function ciText(f: Figure): string {
  if (!f.stats || f.stats.ciMethod === 'none') return '';
  return `[${formatValue(f.stats.ci95[0], f.unit)}, ${formatValue(f.stats.ci95[1], f.unit)}]`;
}

/** One figure's row; `anchor` gives it the id `f-<figure id>` that the report site links to. */
function figureRow(f: Figure, v: Verdict | undefined, anchor = false): string {
  const state = v?.state ?? (f.valid ? 'new' : 'invalid');
  const change = v ? describeChange(v).replace(/^-$/, '') : '';
  const judged =
    v?.judgedBy === 'noise'
      ? 'between-run noise'
      : v?.judgedBy === 'band'
        ? '1% band'
        : v?.judgedBy === 'interval'
          ? 'within-run CI (uncalibrated)'
          : '';
  const mde = v && v.mde !== undefined ? `detectable ${describeMde(v)}` : '';
  const base = v?.baseline ? formatValue(v.baseline.value, v.baseline.unit) : '';
  const refCi = f.reference?.ratioCi95
    ? ` [${f.reference.ratioCi95[0].toPrecision(3)}, ${f.reference.ratioCi95[1].toPrecision(3)}]${f.reference.pairs ? `, ${f.reference.pairs} pairs` : ''}`
    : '';
  const ref = f.reference ? `${f.reference.ratio.toPrecision(3)}×${esc(refCi)} ${esc(f.reference.id)}` : '';
  const spread = f.stats
    ? `p50 ${formatValue(f.stats.p50, f.unit)} · p95 ${formatValue(f.stats.p95, f.unit)} · p99 ${formatValue(f.stats.p99, f.unit)} · sd ${formatValue(f.stats.sd, f.unit)}`
    : '';
  return `<tr class="s-${state}"${anchor ? ` id="f-${esc(f.id)}"` : ''}>
  <td><code>${esc(f.id)}</code><div class="method">${esc(f.method)}</div></td>
  <td class="num">${esc(formatValue(f.value, f.unit))}<div class="ci">${esc(ciText(f))}</div></td>
  <td class="num">${f.n}</td>
  <td class="spread">${esc(spread)}</td>
  <td>${ref}</td>
  <td class="num">${esc(base)}</td>
  <td class="num">${esc(change)}</td>
  <td><span class="badge b-${state}">${esc(STATE_LABEL[state] ?? state)}</span><div class="method">${esc(mde)}${mde && judged ? ' · ' : ''}${esc(judged)}</div></td>
  <td class="why">${esc(v?.why ?? (f.valid ? '' : (f.invalidReason ?? '')))}</td>
</tr>`;
}

interface ChartSpec {
  id: string;
  title: string;
  kind: 'percentiles' | 'series' | 'multi';
  unit: string;
  points: Array<[number, number]>;
  /** `multi` only: one line per figure, each on the y axis of its unit. */
  datasets?: Array<{ label: string; unit: string; points: Array<[number, number]> }>;
}

/**
 * A figure with percentiles gets a percentile chart (one per prefix); one with a series gets a
 * line over time, or, when it is labelled `chart: <title>`, a line in the one chart of that title
 * (the scenario driver's p95, RPS, users and failures over time), named by its `series` label.
 */
function chartsFor(figures: Figure[]): ChartSpec[] {
  const charts: ChartSpec[] = [];
  const seenPrefix = new Set<string>();
  const grouped = new Map<string, ChartSpec>();
  for (const f of figures) {
    if (f.percentiles && f.percentiles.length > 1) {
      const prefix = f.id.replace(/\.[^.]+$/, '');
      if (!seenPrefix.has(prefix)) {
        seenPrefix.add(prefix);
        charts.push({
          id: `c${charts.length}`,
          title: `${prefix} latency by percentile`,
          kind: 'percentiles',
          unit: f.unit,
          points: f.percentiles,
        });
      }
    }
    if (!f.series || f.series.length <= 1) continue;
    const group = f.labels?.chart;
    if (group) {
      let chart = grouped.get(group);
      if (!chart) {
        chart = { id: `c${charts.length}`, title: group, kind: 'multi', unit: '', points: [], datasets: [] };
        grouped.set(group, chart);
        charts.push(chart);
      }
      chart.datasets!.push({ label: f.labels?.series ?? f.id, unit: f.unit, points: f.series });
    } else if (!f.percentiles || f.percentiles.length <= 1) {
      // (A figure with both keeps its percentile chart alone, as before series were grouped.)
      charts.push({
        id: `c${charts.length}`,
        title: `${f.id} over time`,
        kind: 'series',
        unit: f.unit,
        points: f.series,
      });
    }
  }
  return charts;
}

/** rig's self-contained HTML report of one run: opens offline, the chart library inlined. */
export function renderRunHtml(run: RunData): string {
  const verdictById = new Map((run.verdicts ?? []).map((v) => [v.id, v]));
  const bySystem = new Map<string, Figure[]>();
  for (const f of run.figures) {
    const list = bySystem.get(f.system) ?? [];
    list.push(f);
    bySystem.set(f.system, list);
  }
  const counts: Record<string, number> = {};
  for (const f of run.figures) {
    const state = verdictById.get(f.id)?.state ?? (f.valid ? 'new' : 'invalid');
    counts[state] = (counts[state] ?? 0) + 1;
  }
  const overall =
    (counts.breach ?? 0) + (counts.regressed ?? 0) > 0
      ? 'fail'
      : (run.meta.tests?.failed ?? 0) > 0
        ? 'fail'
        : (counts.invalid ?? 0) > 0
          ? 'warn'
          : 'ok';
  const env = run.meta.environment as Record<string, unknown>;
  const charts = chartsFor(run.figures);
  const sections = [...bySystem.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([system, figures]) => {
      const rows = figures.map((f) => figureRow(f, verdictById.get(f.id), true)).join('\n');
      const systemCharts = chartsFor(figures)
        .map((c) => charts.find((x) => x.title === c.title))
        .filter((c): c is ChartSpec => c !== undefined)
        .map(
          (c) =>
            `<figure class="chart"><canvas id="${c.id}" aria-label="${esc(c.title)}"></canvas><figcaption>${esc(c.title)}</figcaption></figure>`,
        )
        .join('');
      return `<section><h2>${esc(system)} <small>${figures.length} figures</small></h2>
<table><thead><tr><th>figure / method</th><th>value [95% CI]</th><th>n</th><th>spread</th><th>reference</th><th>baseline</th><th>change</th><th>verdict</th><th>why</th></tr></thead>
<tbody>${rows}</tbody></table>
<div class="charts">${systemCharts}</div></section>`;
    })
    .join('\n');
  const attention = run.figures
    .map((f) => ({ f, v: verdictById.get(f.id) }))
    .filter(
      ({ f, v }) =>
        v?.state === 'breach' || v?.state === 'regressed' || (!f.valid && (v?.rules.length || v?.baseline)),
    );
  const attentionSection = attention.length
    ? `<section><h2>Needs attention <small>${attention.length} figures: breaches, regressions, judged figures with no verdict</small></h2>
<table><thead><tr><th>figure / method</th><th>value [95% CI]</th><th>n</th><th>spread</th><th>reference</th><th>baseline</th><th>change</th><th>verdict</th><th>why</th></tr></thead>
<tbody>${attention.map(({ f, v }) => figureRow(f, v)).join('\n')}</tbody></table></section>`
    : '';
  const tests = run.meta.tests;
  const summary = Object.entries(counts)
    .map(([k, n]) => `<span class="badge b-${k}">${n} ${esc(STATE_LABEL[k] ?? k)}</span>`)
    .join(' ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>rig run ${esc(run.meta.runId)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#1b1f24;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}
header .meta{opacity:.8;font-size:13px}main{padding:16px 24px}
.verdict{display:inline-block;padding:4px 10px;border-radius:4px;font-weight:600;margin-right:8px}
.v-ok{background:#1a7f37}.v-warn{background:#9a6700}.v-fail{background:#cf222e}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:16px 0;padding:12px 16px;overflow-x:auto}
h2{font-size:17px;margin:4px 0 10px}h2 small{color:#57606a;font-weight:400}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #eaeef2;padding:6px 8px;text-align:left;vertical-align:top}
th{font-size:12px;color:#57606a;font-weight:600}td.num{text-align:right;white-space:nowrap}
.method,.ci,.why,.spread{font-size:12px;color:#57606a}.spread{min-width:180px}td.why{min-width:200px}td:first-child{max-width:320px}td:nth-child(5){max-width:170px;overflow-wrap:anywhere;font-size:12px}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;background:#eaeef2}
.b-pass,.b-improved{background:#dafbe1;color:#1a7f37}.b-breach,.b-regressed{background:#ffebe9;color:#cf222e;font-weight:700}
.b-invalid,.b-missing{background:#fff8c5;color:#9a6700}.b-new{background:#ddf4ff;color:#0969da}
tr.s-breach,tr.s-regressed{background:#fff5f5}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{width:460px;margin:8px 0}figcaption{font-size:12px;color:#57606a;text-align:center}
dl.env{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}dt{color:#57606a}dd{margin:0}
</style></head><body>
<header><h1>rig run <code>${esc(run.meta.runId)}</code></h1>
<div class="meta">profile <b>${esc(run.meta.profile)}</b> · started ${esc(run.meta.startedAt)} · commit ${esc(env.commit ?? 'unknown')}${env.dirty ? ' (dirty)' : ''}${run.meta.injected ? ` · <b>injected slowdown ${esc(run.meta.injected.slowdown)}</b> (calibration run, never a baseline)` : ''}</div>
<p><span class="verdict v-${overall}">${overall === 'ok' ? 'PASS' : overall === 'warn' ? 'PASS WITH NO-VERDICT FIGURES' : 'FAIL'}</span>
tests: ${tests ? `${tests.passed} passed, ${tests.failed} failed, ${tests.skipped} skipped` : 'unknown'} · figures: ${run.figures.length} ${summary}</p></header>
<main>
<section><h2>Environment</h2><dl class="env">${Object.entries(env)
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`)
    .join('')}</dl>
<p class="method">Each figure carries its method, its sample count n and a 95% confidence interval (bootstrap for small samples, exact order-statistic intervals for percentiles of large ones). A figure marked "no verdict" came from an untrustworthy run (driver saturated, rate not achieved, too few samples) and is never counted as a pass. Within-run intervals describe one run only: the gate judges a change against the figure's between-run spread measured by <code>rig calibrate</code> (A/A runs), with Holm's method holding the chance of any false alarm in the run to 1%; "detectable" under a verdict is the smallest change the gate could flag for that figure.</p></section>
${run.rejected.length ? `<section><h2>Rejected figure lines</h2><pre>${esc(run.rejected.join('\n'))}</pre></section>` : ''}
${attentionSection}
${sections || '<section><h2>No figures</h2><p>This run recorded no figures.</p></section>'}
</main>
<script>${chartLibrary()}</script>
<script type="application/json" id="rig-charts">${scriptJson(charts)}</script>
<script>
(function(){
  var charts = JSON.parse(document.getElementById('rig-charts').textContent);
  if (typeof Chart === 'undefined') return;
  var colours = ['#0969da', '#cf222e', '#1a7f37', '#9a6700', '#8250df', '#bc4c00', '#57606a'];
  function multi(c){
    // One y axis per unit, alternating sides, each in the colour of its first line.
    var axes = {}, scales = {x:{type:'linear', title:{display:true,text:'ms since start'}}};
    var datasets = c.datasets.map(function(d, i){
      var colour = colours[i % colours.length];
      if (!(d.unit in axes)) {
        var n = Object.keys(axes).length;
        axes[d.unit] = 'y' + n;
        scales['y' + n] = {type:'linear', beginAtZero:true, position: n % 2 ? 'right' : 'left', grid:{drawOnChartArea: n === 0},
          title:{display:true, text:d.unit, color:colour}, ticks:{color:colour}};
      }
      return {label:d.label, yAxisID:axes[d.unit], data:d.points.map(function(p){return {x:p[0], y:p[1]};}),
        borderColor:colour, backgroundColor:colour, pointRadius:0, showLine:true};
    });
    return {type:'scatter', data:{datasets:datasets}, options:{animation:false, plugins:{legend:{display:true}}, scales:scales}};
  }
  charts.forEach(function(c){
    var el = document.getElementById(c.id); if (!el) return;
    if (c.kind === 'multi') { new Chart(el, multi(c)); return; }
    var pct = c.kind === 'percentiles';
    var data = pct
      ? {labels:c.points.map(function(p){return p[0];}), datasets:[{label:c.unit, data:c.points.map(function(p){return p[1];}), borderColor:'#0969da', pointRadius:3, tension:0.2}]}
      : {datasets:[{label:c.unit, data:c.points.map(function(p){return {x:p[0], y:p[1]};}), borderColor:'#0969da', pointRadius:0, showLine:true}]};
    new Chart(el, {type: pct ? 'line' : 'scatter', data:data,
      options:{animation:false, plugins:{legend:{display:false}},
        scales:{x:{type: pct ? 'category' : 'linear', title:{display:true,text:pct?'percentile':'ms since start'}}, y:{title:{display:true,text:c.unit}}}}});
  });
})();
</script>
</body></html>
`;
}

export function writeRunHtml(run: RunData): string {
  const file = path.join(run.dir, 'index.html');
  writeFileSync(file, renderRunHtml(run));
  return file;
}
