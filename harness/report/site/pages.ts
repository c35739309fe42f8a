// The report site's pages, as HTML strings. Every page is static and works from file:// with no
// network: charts are drawn by the local copy of chart.js and assets/site.js from JSON embedded
// in the page (or, for the "what changed" page, from data/site.js).
import { formatValue } from '../../measure/units.ts';
import { toUrlPath } from '../../run/paths.ts';
import { esc, scriptJson } from '../html.ts';
import type { MarkedChange, Noise, ThresholdLine } from './context.ts';
import type { FigureMeta, History, Older, Series, SiteRun } from './history.ts';

/** File name of a figure's page (ids are letters, digits and `._+-`). */
export const figureFile = (id: string): string => `figures/${id}.html`;
export const systemFile = (system: string): string =>
  `systems/${system.replace(/[^A-Za-z0-9_.-]/g, '_')}.html`;
/** A link target: each path segment URI-encoded (`+` in figure ids). */
const href = (p: string): string => toUrlPath(p);

const shortDate = (iso: string): string => iso.replace('T', ' ').slice(0, 16);
const shortCommit = (c: string | undefined): string => (c ? c.slice(0, 8) : '-');

/** The size of a step: a share on the log scale (+25.0%), an amount in the unit on the linear one. */
function sizeText(c: Pick<MarkedChange, 'relative' | 'step'>, unit: string): string {
  return c.relative !== undefined
    ? `${c.relative >= 0 ? '+' : ''}${(c.relative * 100).toFixed(1)}%`
    : `${c.step >= 0 ? '+' : ''}${formatValue(c.step, unit)}`;
}

export function stepText(
  c: Pick<MarkedChange, 'relative' | 'step' | 'before' | 'after'>,
  unit: string,
): string {
  return `${sizeText(c, unit)} (${formatValue(c.before, unit)} → ${formatValue(c.after, unit)})`;
}

/** Whether a change is for the worse, given which way is better. */
export const worse = (c: Pick<MarkedChange, 'step' | 'relative'>, better: 'higher' | 'lower'): boolean => {
  const up = c.relative !== undefined ? c.relative > 0 : c.step > 0;
  return better === 'lower' ? up : !up;
};

const GATE_BADGE: Record<SiteRun['gate'], string> = {
  pass: 'b-pass',
  fail: 'b-fail',
  'no verdict': 'b-warn',
  'not judged': 'b-none',
};

function layout(title: string, depth: number, body: string, scripts: string[] = []): string {
  const up = depth ? '../'.repeat(depth) : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><link rel="stylesheet" href="${up}assets/site.css"></head><body>
<header><nav><a href="${up}index.html">runs</a> · <a href="${up}changes.html">what changed</a></nav><h1>${esc(title)}</h1></header>
<main>
${body}
</main>
${scripts.map((s) => `<script src="${up}${s}"></script>`).join('\n')}
</body></html>
`;
}

function runLink(run: SiteRun, depth: number): string {
  const up = '../'.repeat(depth);
  return run.report
    ? `<a href="${up}${href(run.report)}">${esc(run.id)}</a>`
    : `<span title="this run's report is not in the site">${esc(run.id)}</span>`;
}

function olderText(profile: string, older: Older | undefined): string {
  return older
    ? `${older.runs} older ${esc(profile)} runs (${esc(shortDate(older.from))} to ${esc(shortDate(older.to))}) are summarised, not listed.`
    : '';
}

/** index.html: every kept run, newest first; systems; the newest change points. */
export function indexPage(
  history: History,
  lanes: Map<string, string>,
  systems: Array<{ name: string; figures: number; changes: number }>,
  changes: MarkedChange[],
  allure?: string,
): string {
  const runs = [...history.runs].reverse();
  // "changes" compares a run with the run before it on the same trend line.
  const previousOf = new Map<string, SiteRun>();
  const lastByLane = new Map<string, SiteRun>();
  for (const r of history.runs) {
    const lane = lanes.get(r.id) ?? r.profile;
    const prev = lastByLane.get(lane);
    if (prev) previousOf.set(r.id, prev);
    lastByLane.set(lane, r);
  }
  const rows = runs
    .map((r) => {
      const t = r.tests;
      const v = r.verdicts ?? {};
      const bad = (v.breach ?? 0) + (v.regressed ?? 0);
      const prev = previousOf.get(r.id);
      return `<tr data-run="${esc(r.id)}"><td>${runLink(r, 0)}${r.injected ? ` <span class="badge b-warn" title="rig run --inject-slowdown">injected +${esc(Math.round(r.injected * 100))}%</span>` : ''}</td>
<td>${esc(shortDate(r.startedAt))}</td><td><code>${esc(shortCommit(r.commit))}</code>${r.dirty ? ' <small>(dirty)</small>' : ''}</td><td>${esc(r.branch ?? '-')}</td><td>${esc(lanes.get(r.id) ?? r.profile)}</td><td class="machine">${esc(r.machine)}</td>
<td class="num">${t ? `${t.passed} / <span class="${t.failed ? 'bad' : ''}">${t.failed}</span> / ${t.skipped}` : '-'}</td>
<td><span class="badge ${GATE_BADGE[r.gate]}">${esc(r.gate)}</span>${bad ? ` <small>${bad} breach/regressed</small>` : ''}${v.invalid ? ` <small>${v.invalid} no verdict</small>` : ''}</td>
<td>${r.report ? `<a href="${href(r.report)}">report</a>` : ''}${r.allure ? ` · <a href="${href(r.allure)}">Allure</a>` : ''}${prev ? ` · <a href="changes.html?a=${encodeURIComponent(prev.id)}&amp;b=${encodeURIComponent(r.id)}">changes</a>` : ''}</td></tr>`;
    })
    .join('\n');
  const older = Object.entries(history.older)
    .map(([p, o]) => `<li>${olderText(p, o)}</li>`)
    .join('');
  const systemItems = systems
    .map(
      (s) =>
        `<li><a href="${href(systemFile(s.name))}">${esc(s.name)}</a> <small>${s.figures} figures${s.changes ? `, ${s.changes} change points` : ''}</small></li>`,
    )
    .join('');
  const recent = changes
    .slice(0, 25)
    .map(
      (c) =>
        `<tr><td><a href="${href(figureFile(c.figure))}">${esc(c.figure)}</a></td><td>${esc(c.lane)}</td><td>${esc(c.runId)}</td><td><code>${esc(shortCommit(c.commit))}</code></td><td class="${worse(c, history.figures[c.figure]?.better ?? 'lower') ? 'bad' : 'good'}">${esc(stepText(c, history.figures[c.figure]?.unit ?? ''))}</td></tr>`,
    )
    .join('');
  return layout(
    'rig: runs and trends',
    0,
    `${allure ? `<p><a id="allure-combined" href="${href(allure)}">Allure report of every job</a> (tests, with their history)</p>` : ''}
<section><h2>Systems</h2><ul class="systems">${systemItems || '<li>no figures yet</li>'}</ul></section>
<section><h2>Newest change points <small>${changes.length} in the kept history</small></h2>
${recent ? `<table id="recent-changes"><thead><tr><th>figure</th><th>profile</th><th>first run after</th><th>commit</th><th>step</th></tr></thead><tbody>${recent}</tbody></table>` : '<p>No figure has stepped beyond its noise in the kept history.</p>'}</section>
<section><h2>Runs <small>${history.runs.length} kept, the newest ${history.keep} per profile</small></h2>
${older ? `<ul class="older">${older}</ul>` : ''}
<table id="runs"><thead><tr><th>run</th><th>started (UTC)</th><th>commit</th><th>branch</th><th>profile</th><th>machine</th><th>tests passed / failed / skipped</th><th>gate</th><th>links</th></tr></thead>
<tbody>${rows}</tbody></table></section>`,
  );
}

/** A small inline SVG trend of one series, with its change points in red. */
function sparkline(s: Series, changes: MarkedChange[]): string {
  const w = 140;
  const h = 30;
  const values = s.points.map((p) => p[0]);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const x = (i: number) => (values.length === 1 ? w / 2 : (i / (values.length - 1)) * (w - 4) + 2);
  const y = (v: number) => (hi === lo ? h / 2 : h - 2 - ((v - lo) / (hi - lo)) * (h - 4));
  const line = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const marks = changes
    .map(
      (c) =>
        `<line x1="${x(c.index - 0.5).toFixed(1)}" x2="${x(c.index - 0.5).toFixed(1)}" y1="0" y2="${h}" class="cp"/>`,
    )
    .join('');
  return `<svg class="spark" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="trend of ${esc(s.figure)} (${esc(s.lane)})"><polyline points="${line}"/>${marks}</svg>`;
}

/** systems/<name>.html: each figure of the system with its newest value and trend per profile. */
export function systemPage(
  system: string,
  figures: Array<{ id: string; meta: FigureMeta; series: Series[]; changes: MarkedChange[] }>,
): string {
  const rows = figures
    .map(({ id, meta, series, changes }) => {
      const cells = series
        .map((s) => {
          const last = s.points[s.points.length - 1]!;
          const cp = changes.filter((c) => c.lane === s.lane);
          const newest = cp[cp.length - 1];
          return `<div class="trend"><b>${esc(s.lane)}</b> ${esc(formatValue(last[0], meta.unit))} <small>${s.points.length} runs</small> ${sparkline(s, cp)}${newest ? ` <span class="${worse(newest, meta.better) ? 'bad' : 'good'}">${esc(stepText(newest, meta.unit))} at ${esc(newest.runId)}</span>` : ''}</div>`;
        })
        .join('');
      return `<tr data-figure="${esc(id)}"><td><a href="../${href(figureFile(id))}">${esc(id)}</a><div class="method">${esc(meta.suite)} · ${esc(meta.unit)}, ${meta.better} is better</div></td><td>${cells}</td></tr>`;
    })
    .join('\n');
  return layout(
    `rig: ${system}`,
    1,
    `<section><h2>${figures.length} figures</h2><table id="figures"><thead><tr><th>figure</th><th>newest value and trend per profile</th></tr></thead><tbody>${rows}</tbody></table></section>`,
  );
}

/** What the browser draws for one series: every point with its run, and the lines beside it. */
export interface TrendData {
  canvas: string;
  figure: string;
  profile: string;
  unit: string;
  better: 'higher' | 'lower';
  points: Array<{
    value: number;
    lo: number | null;
    hi: number | null;
    valid: boolean;
    run: string;
    commit: string | null;
    branch: string | null;
    startedAt: string;
    injected: number | null;
    href: string | null;
  }>;
  noise: { centre: number; lo: number; hi: number; runs: number } | null;
  thresholds: ThresholdLine[];
  changes: Array<{ index: number; label: string }>;
}

export function trendData(
  canvas: string,
  s: Series,
  meta: FigureMeta,
  noise: Noise | undefined,
  thresholds: ThresholdLine[],
  changes: MarkedChange[],
): TrendData {
  const band = noise
    ? noise.scale === 'log'
      ? { lo: noise.centre * Math.exp(-2 * noise.spread), hi: noise.centre * Math.exp(2 * noise.spread) }
      : { lo: noise.centre - 2 * noise.spread, hi: noise.centre + 2 * noise.spread }
    : undefined;
  return {
    canvas,
    figure: s.figure,
    profile: s.lane,
    unit: meta.unit,
    better: meta.better,
    points: s.points.map(([value, lo, hi, valid], i) => {
      const run = s.runs[i]!;
      return {
        value,
        lo,
        hi,
        valid: valid === 1,
        run: run.id,
        commit: run.commit ?? null,
        branch: run.branch ?? null,
        startedAt: run.startedAt,
        injected: run.injected ?? null,
        href: run.report ? `../${href(run.report)}#${encodeURIComponent(`f-${s.figure}`)}` : null,
      };
    }),
    noise: noise && band ? { centre: noise.centre, ...band, runs: noise.runs } : null,
    thresholds,
    changes: changes.map((c) => ({
      index: c.index,
      label: `${sizeText(c, meta.unit)} @ ${shortCommit(c.commit)}`,
    })),
  };
}

/** figures/<id>.html: the figure over the kept runs of each profile. */
export function figurePage(
  id: string,
  meta: FigureMeta,
  sections: Array<{
    trend: TrendData;
    series: Series;
    changes: MarkedChange[];
    noise: Noise | undefined;
    otherRules: string[];
    older: Older | undefined;
  }>,
): string {
  const body = sections
    .map(({ trend, series, changes, noise, otherRules, older }) => {
      const cpRows = changes
        .map(
          (c) =>
            `<tr class="change-point" data-run="${esc(c.runId)}" data-index="${c.index}" data-relative="${c.relative ?? ''}" data-step="${c.step}"><td>${esc(c.runId)}</td><td><code>${esc(shortCommit(c.commit))}</code></td><td>${esc(shortDate(c.startedAt))}</td><td class="${worse(c, meta.better) ? 'bad' : 'good'}">${esc(stepText(c, meta.unit))}</td><td>${c.test === 'noise' ? `against the calibrated noise${c.stepNoise !== undefined ? `: ${c.stepNoise.toFixed(1)} noise widths` : ''}` : 'e-divisive, permutation test'}, p = ${c.pValue.toPrecision(2)}</td></tr>`,
        )
        .join('');
      const summary = older?.figures[id];
      const pointRows = series.points
        .map(([v, lo, hi, valid], i) => {
          const run = series.runs[i]!;
          return `<tr><td>${runLink(run, 1)}</td><td><code>${esc(shortCommit(run.commit))}</code></td><td>${esc(shortDate(run.startedAt))}</td><td class="num">${esc(formatValue(v, meta.unit))}</td><td class="num">${lo !== null && hi !== null ? `[${esc(formatValue(lo, meta.unit))}, ${esc(formatValue(hi, meta.unit))}]` : '-'}</td><td>${valid ? '' : 'no verdict'}${run.injected ? ` injected +${Math.round(run.injected * 100)}%` : ''}</td></tr>`;
        })
        .join('');
      return `<section class="profile" data-profile="${esc(series.profile)}" data-lane="${esc(series.lane)}"><h2>${esc(series.lane)} <small>${series.points.length} runs</small></h2>
<div class="trend-chart"><canvas id="${esc(trend.canvas)}" aria-label="${esc(id)} over ${esc(series.lane)} runs"></canvas></div>
<script type="application/json" class="rig-trend">${scriptJson(trend)}</script>
<p class="method">Points: the run's value; shaded: its 95% interval within the run. ${noise ? `Grey band: the baseline's centre ± 2 between-run spreads (${noise.runs} A/A runs; the gate's noise).` : 'No calibrated noise for this profile (`rig calibrate` measures it).'} ${trend.thresholds.length ? 'Dashed lines: thresholds.' : ''} Red dashed lines: change points, between the last run before and the first run after. Hover a point for its run; click it for the run's report.</p>
${otherRules.length ? `<p class="method">Other rules: ${esc(otherRules.join('; '))}</p>` : ''}
${summary ? `<p class="method">Before the kept runs: ${summary.n} runs, mean ${esc(formatValue(summary.mean, meta.unit))}, from ${esc(formatValue(summary.min, meta.unit))} to ${esc(formatValue(summary.max, meta.unit))}.</p>` : ''}
<h3>Change points</h3>
${cpRows ? `<table class="change-points"><thead><tr><th>first run after</th><th>commit</th><th>started</th><th>step</th><th>found by</th></tr></thead><tbody>${cpRows}</tbody></table>` : '<p class="no-change">None: no step beyond the noise in these runs.</p>'}
<details><summary>Values</summary><table class="values"><thead><tr><th>run</th><th>commit</th><th>started</th><th>value</th><th>95% CI</th><th></th></tr></thead><tbody>${pointRows}</tbody></table></details>
</section>`;
    })
    .join('\n');
  return layout(
    id,
    1,
    `<p class="method"><a href="../${href(systemFile(meta.system))}">${esc(meta.system)}</a> · ${esc(meta.suite)} · ${esc(meta.unit)}, ${meta.better} is better · ${esc(meta.method)}</p>
${body}`,
    ['assets/chart.umd.min.js', 'assets/site.js'],
  );
}

/** changes.html: pick two runs; the figures that moved beyond their noise, largest first. */
export function changesPage(history: History): string {
  const options = [...history.runs]
    .reverse()
    .map(
      (r) =>
        `<option value="${esc(r.id)}">${esc(r.id)} · ${esc(r.profile)} · ${esc(shortCommit(r.commit))}</option>`,
    )
    .join('');
  return layout(
    'rig: what changed between two runs',
    0,
    `<section><form id="pick"><label>from <select id="run-a" name="a">${options}</select></label>
<label>to <select id="run-b" name="b">${options}</select></label> <button type="submit">compare</button></form>
<p class="method">A figure moved beyond its noise when the difference of the two runs is more than 2 × √2 of its calibrated between-run spread (the baseline of the newer run's profile), or, where no spread is calibrated, when the two runs' 95% intervals do not overlap. Sorted by the size of the change.</p>
<p id="compare-summary"></p></section>
<section><h2>Moved beyond their noise</h2><table id="moved"><thead><tr><th>figure</th><th>from</th><th>to</th><th>change</th><th>noise widths</th><th>judged by</th></tr></thead><tbody></tbody></table></section>
<section><h2>Within their noise</h2><details><summary>list</summary><table id="steady"><thead><tr><th>figure</th><th>from</th><th>to</th><th>change</th><th>noise widths</th><th>judged by</th></tr></thead><tbody></tbody></table></details></section>`,
    ['data/site.js', 'assets/site.js'],
  );
}
