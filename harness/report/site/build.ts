// `rig site`: the static report site over the run history. Reads every run in --from (and the
// previous site's history with --history), keeps the newest N runs per profile, copies their
// reports, finds each figure's change points and writes the pages. Built in a temporary folder
// beside --out and moved into place at the end, so a failed build leaves the old site intact.
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { RigError } from '../../errors.ts';
import { loadThresholds, type ThresholdRule } from '../../gate/thresholds.ts';
import { renderRunHtml, scriptJson } from '../html.ts';
import type { RunData } from '../run-data.ts';
import { allChanges, loadNoise, type MarkedChange, type NoiseTable, thresholdsOf } from './context.ts';
import {
  type History,
  lanesOf,
  loadRunDirs,
  mergeHistory,
  readHistory,
  type Series,
  SiteRunSchema,
  seriesOf,
  siteRunOf,
} from './history.ts';
import {
  changesPage,
  figureFile,
  figurePage,
  indexPage,
  systemFile,
  systemPage,
  trendData,
} from './pages.ts';

const require = createRequire(import.meta.url);
const ASSETS = path.join(import.meta.dirname, 'assets');

export const DEFAULT_KEEP = 50;
export const DEFAULT_ALLURE_KEEP = 3;

export interface SiteOptions {
  /** The repository: its thresholds/ and reports/baselines/. */
  root: string;
  /** Folder of run directories (reports/). */
  from: string;
  out: string;
  /** A site built before: its history and run reports are carried over. */
  history?: string;
  /** Runs kept per profile; older ones are summarised. */
  keep?: number;
  /** How many of the newest runs keep their Allure report in the site (each is megabytes). */
  allureKeep?: number;
  /** Baselines with calibrated noise: default <from>/baselines, else <root>/reports/baselines. */
  baselines?: string;
  /** A generated Allure report (e.g. `rig report --combine`) to publish as the site's allure/. */
  allureReport?: string;
  /** Threshold rules drawn as lines; default the repository's thresholds files. */
  thresholds?: ThresholdRule[];
  log?: (line: string) => void;
}

export interface SiteResult {
  out: string;
  index: string;
  runs: number;
  added: number;
  carried: number;
  dropped: number;
  pages: number;
  changes: MarkedChange[];
  skipped: string[];
}

/** --out must be empty, absent, or a site rig built: the build replaces it. */
function checkOut(out: string): void {
  if (!existsSync(out)) return;
  const entries = readdirSync(out);
  if (entries.length === 0 || existsSync(path.join(out, 'data', 'history.json'))) return;
  throw new RigError(
    'RIG_SITE_INVALID',
    `${out} is not empty and is not a site rig built (no data/history.json): not replacing it`,
  );
}

function copyRunReports(
  history: History,
  added: Map<string, RunData>,
  previous: string | undefined,
  dir: string,
  allureKeep: number,
): void {
  const newest = new Set(
    [...history.runs]
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
      .slice(0, allureKeep)
      .map((r) => r.id),
  );
  for (const run of history.runs) {
    const target = path.join(dir, 'runs', run.id);
    const data = added.get(run.id);
    delete run.report;
    delete run.allure;
    if (data) {
      mkdirSync(target, { recursive: true });
      const html = path.join(data.dir, 'index.html');
      if (existsSync(html)) copyFileSync(html, path.join(target, 'index.html'));
      else writeFileSync(path.join(target, 'index.html'), renderRunHtml(data));
      run.report = `runs/${run.id}/index.html`;
      const allure = path.join(data.dir, 'allure-report');
      if (newest.has(run.id) && existsSync(path.join(allure, 'index.html'))) {
        cpSync(allure, path.join(target, 'allure'), { recursive: true });
        run.allure = `runs/${run.id}/allure/index.html`;
      }
      continue;
    }
    if (!previous) continue;
    const before = path.join(previous, 'runs', run.id);
    if (existsSync(path.join(before, 'index.html'))) {
      mkdirSync(target, { recursive: true });
      copyFileSync(path.join(before, 'index.html'), path.join(target, 'index.html'));
      run.report = `runs/${run.id}/index.html`;
    }
    if (newest.has(run.id) && existsSync(path.join(before, 'allure', 'index.html'))) {
      cpSync(path.join(before, 'allure'), path.join(target, 'allure'), { recursive: true });
      run.allure = `runs/${run.id}/allure/index.html`;
    }
  }
}

function write(dir: string, file: string, content: string): void {
  const full = path.join(dir, file);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, content);
}

/** What data/site.js gives the browser: the history and each figure's calibrated noise. */
function siteData(history: History, noise: NoiseTable): string {
  const slim: Record<string, Record<string, { scale: string; spread: number; runs: number }>> = {};
  for (const [profile, table] of Object.entries(noise)) {
    slim[profile] = {};
    for (const [id, n] of Object.entries(table))
      slim[profile][id] = { scale: n.scale, spread: n.spread, runs: n.runs };
  }
  return `window.RIG_SITE = ${scriptJson({ history, noise: slim })};\n`;
}

export function buildSite(options: SiteOptions): SiteResult {
  const log = options.log ?? (() => {});
  const keep = options.keep ?? DEFAULT_KEEP;
  const allureKeep = options.allureKeep ?? DEFAULT_ALLURE_KEEP;
  if (!(Number.isInteger(keep) && keep > 0))
    throw new RigError('RIG_USAGE', '--keep must be a whole number above 0');
  if (!(Number.isInteger(allureKeep) && allureKeep >= 0))
    throw new RigError('RIG_USAGE', '--allure-keep must be a whole number, 0 or more');
  const out = path.resolve(options.out);
  checkOut(out);
  const previousDir = options.history ? path.resolve(options.history) : undefined;
  const previous = previousDir ? readHistory(previousDir) : undefined;
  if (previousDir && !previous)
    log(`rig site: ${options.history} has no data/history.json: starting a new history`);

  const { runs, skipped } = loadRunDirs(path.resolve(options.from));
  const added = new Map<string, RunData>();
  const records = [];
  for (const run of runs) {
    const record = siteRunOf(run);
    const valid = SiteRunSchema.safeParse(record.run);
    if (!valid.success) {
      skipped.push(`${path.basename(run.dir)}: ${valid.error.issues[0]?.message ?? 'invalid'}`);
      continue;
    }
    added.set(record.run.id, run);
    records.push(record);
  }
  if (records.length === 0 && !previous?.runs.length)
    throw new RigError('RIG_SITE_INVALID', `no run in ${options.from} (a run is a folder with run.json)`);
  const { history, dropped } = mergeHistory(previous, records, keep);
  const carried = history.runs.filter((r) => !added.has(r.id)).length;

  const fromBaselines = path.join(path.resolve(options.from), 'baselines');
  const noise = loadNoise(
    options.baselines ??
      (existsSync(fromBaselines) ? fromBaselines : path.join(options.root, 'reports', 'baselines')),
    history.figures,
  );
  const rules = options.thresholds ?? loadThresholds(options.root);
  const allureReport = options.allureReport ? path.resolve(options.allureReport) : undefined;
  if (allureReport && !existsSync(path.join(allureReport, 'index.html')))
    throw new RigError('RIG_SITE_INVALID', `${options.allureReport} is not an Allure report (no index.html)`);

  const stage = `${out}.building-${process.pid}`;
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  try {
    copyRunReports(history, added, previousDir, stage, allureKeep);

    const lanes = lanesOf(history);
    const seriesByFigure = new Map<string, Series[]>();
    for (const id of Object.keys(history.figures).sort())
      seriesByFigure.set(id, seriesOf(history, id, lanes));
    const changes = allChanges(history, seriesByFigure, noise);

    let pages = 0;
    const bySystem = new Map<string, string[]>();
    for (const [id, list] of seriesByFigure) {
      const meta = history.figures[id]!;
      bySystem.set(meta.system, [...(bySystem.get(meta.system) ?? []), id]);
      const figureChanges = changes.get(id) ?? [];
      const sections = list.map((s) => {
        const profileNoise = noise[s.profile]?.[id];
        const { lines, other } = thresholdsOf(rules, id, meta.unit, s.profile);
        const own = figureChanges.filter((c) => c.lane === s.lane);
        return {
          trend: trendData(
            `trend-${s.lane.replace(/[^A-Za-z0-9_-]+/g, '-')}`,
            s,
            meta,
            profileNoise,
            lines,
            own,
          ),
          series: s,
          changes: own,
          noise: profileNoise,
          otherRules: other,
          older: history.older[s.profile],
        };
      });
      write(stage, figureFile(id), figurePage(id, meta, sections));
      pages++;
    }
    const systems = [...bySystem.entries()].sort(([a], [b]) => a.localeCompare(b));
    for (const [system, ids] of systems) {
      const rows = ids.map((id) => ({
        id,
        meta: history.figures[id]!,
        series: seriesByFigure.get(id)!,
        changes: changes.get(id) ?? [],
      }));
      write(stage, systemFile(system), systemPage(system, rows));
      pages++;
    }
    const allMarked = [...changes.values()]
      .flat()
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt) || a.figure.localeCompare(b.figure));
    write(
      stage,
      'index.html',
      indexPage(
        history,
        lanes,
        systems.map(([name, ids]) => ({
          name,
          figures: ids.length,
          changes: ids.reduce((n, id) => n + (changes.get(id)?.length ?? 0), 0),
        })),
        allMarked,
        allureReport ? 'allure/index.html' : undefined,
      ),
    );
    if (allureReport) cpSync(allureReport, path.join(stage, 'allure'), { recursive: true });
    write(stage, 'changes.html', changesPage(history));
    pages += 2;
    write(stage, 'data/history.json', `${JSON.stringify(history)}\n`);
    write(stage, 'data/site.js', siteData(history, noise));
    mkdirSync(path.join(stage, 'assets'), { recursive: true });
    copyFileSync(
      path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js'),
      path.join(stage, 'assets', 'chart.umd.min.js'),
    );
    copyFileSync(path.join(ASSETS, 'site.js'), path.join(stage, 'assets', 'site.js'));
    copyFileSync(path.join(ASSETS, 'site.css'), path.join(stage, 'assets', 'site.css'));
    // Pages serves folders whose names start with "_" only without Jekyll.
    writeFileSync(path.join(stage, '.nojekyll'), '');

    rmSync(out, { recursive: true, force: true });
    renameSync(stage, out);
    log(
      `rig site: ${history.runs.length} runs (${records.length} from ${options.from}, ${carried} carried over, ${dropped.length} summarised), ${pages} pages, ${allMarked.length} change points -> ${path.join(out, 'index.html')}`,
    );
    for (const s of skipped) log(`rig site: skipped ${s}`);
    return {
      out,
      index: path.join(out, 'index.html'),
      runs: history.runs.length,
      added: records.length,
      carried,
      dropped: dropped.length,
      pages,
      changes: allMarked,
      skipped,
    };
  } catch (error) {
    rmSync(stage, { recursive: true, force: true });
    throw error;
  }
}
