import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { writeSyntheticReports } from '../../../suites/harness/synthetic-reports.ts';
import { main } from '../../cli.ts';
import { REPO_ROOT } from '../../systems/registry.ts';
import { buildSite } from './build.ts';
import { type History, mergeHistory, readHistory, type SiteRun, seriesOf } from './history.ts';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'rig-site-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function run(
  id: string,
  profile: string,
  day: number,
  value: number,
): { run: SiteRun; figures: History['figures'] } {
  return {
    run: {
      id,
      profile,
      startedAt: new Date(Date.UTC(2026, 10, day)).toISOString(),
      machine: 'test',
      gate: 'pass',
      figures: { 'x.op.p50': [value, null, null, 1] },
    },
    figures: { 'x.op.p50': { system: 'x', suite: 'latency', unit: 'us', better: 'lower', method: 'test' } },
  };
}

describe('site history', () => {
  it('keeps the newest N runs per profile and folds the older ones into a summary', () => {
    const added = [1, 2, 3, 4, 5].map((d) => run(`s${d}`, 'smoke', d, d * 10));
    added.push(run('b1', 'bench', 1, 7));
    const { history, dropped } = mergeHistory(undefined, added, 3);
    expect(history.runs.map((r) => r.id)).toEqual(['b1', 's3', 's4', 's5']);
    expect(dropped.map((r) => r.id)).toEqual(['s1', 's2']);
    expect(history.older.smoke).toMatchObject({
      runs: 2,
      figures: { 'x.op.p50': { n: 2, min: 10, max: 20, mean: 15 } },
    });
    expect(history.older.bench).toBeUndefined();
    // Carried over: a new run of the same id replaces the old; the summary grows.
    const next = mergeHistory(history, [run('s5', 'smoke', 5, 99), run('s6', 'smoke', 6, 60)], 3);
    expect(next.history.runs.filter((r) => r.profile === 'smoke').map((r) => r.id)).toEqual([
      's4',
      's5',
      's6',
    ]);
    expect(next.history.runs.find((r) => r.id === 's5')!.figures['x.op.p50']![0]).toBe(99);
    expect(next.history.older.smoke).toMatchObject({
      runs: 3,
      figures: { 'x.op.p50': { n: 3, min: 10, max: 30, mean: 20 } },
    });
  });

  it('draws one trend line per profile, split by platform where a profile ran on several', () => {
    const runs = [
      run('l1', 'nightly', 1, 10),
      run('w1', 'nightly', 2, 30),
      run('l2', 'nightly', 3, 11),
      run('s1', 'smoke', 4, 5),
    ];
    runs[0]!.run.platform = 'Linux node 20';
    runs[1]!.run.platform = 'Windows_NT node 20';
    runs[2]!.run.platform = 'Linux node 20';
    runs[3]!.run.platform = 'Linux node 20';
    const { history } = mergeHistory(undefined, runs, 10);
    const series = seriesOf(history, 'x.op.p50');
    expect(series.map((s) => [s.lane, s.runs.map((r) => r.id)])).toEqual([
      ['nightly · Linux node 20', ['l1', 'l2']],
      ['nightly · Windows_NT node 20', ['w1']],
      ['smoke', ['s1']],
    ]);
  });

  it('refuses a previous history that does not validate, with its field', () => {
    const d = tmp();
    mkdirSync(path.join(d, 'data'));
    writeFileSync(path.join(d, 'data', 'history.json'), JSON.stringify({ version: 1, runs: 'no' }));
    expect(() => readHistory(d)).toThrow(expect.objectContaining({ code: 'RIG_SITE_INVALID' }));
    expect(readHistory(tmp())).toBeUndefined();
  });
});

describe('buildSite', () => {
  it('carries the previous site history and its run reports over, bounded per profile', () => {
    const root = tmp();
    const first = writeSyntheticReports(path.join(root, 'reports-1'), { runs: 6, changeAt: 4 });
    const site1 = buildSite({
      root: REPO_ROOT,
      from: first.dir,
      out: path.join(root, 'site-1'),
      thresholds: [],
    });
    expect(site1.runs).toBe(6);
    const second = writeSyntheticReports(path.join(root, 'reports-2'), {
      runs: 3,
      changeAt: 99,
      start: '2026-11-20T02:00:00Z',
      seed: 9,
    });
    const site2 = buildSite({
      root: REPO_ROOT,
      from: second.dir,
      out: path.join(root, 'site-2'),
      history: site1.out,
      keep: 7,
      thresholds: [],
    });
    expect(site2).toMatchObject({ runs: 7, added: 3, carried: 4, dropped: 2 });
    const history = readHistory(site2.out)!;
    expect(history.runs.map((r) => r.id)).toEqual([...first.runIds.slice(2), ...second.runIds]);
    expect(history.older.smoke!.runs).toBe(2);
    // Carried runs keep their reports; summarised ones lose theirs.
    for (const r of history.runs) expect(existsSync(path.join(site2.out, r.report!))).toBe(true);
    expect(existsSync(path.join(site2.out, 'runs', first.runIds[0]!))).toBe(false);
    expect(readFileSync(path.join(site2.out, 'index.html'), 'utf8')).toContain('2 older smoke runs');
  });

  it('replaces an earlier site in --out, never another folder, and needs a run', () => {
    const root = tmp();
    const reports = writeSyntheticReports(path.join(root, 'reports'), { runs: 3 });
    const other = path.join(root, 'mine');
    mkdirSync(other);
    writeFileSync(path.join(other, 'keep.txt'), 'mine');
    expect(() => buildSite({ root: REPO_ROOT, from: reports.dir, out: other, thresholds: [] })).toThrow(
      expect.objectContaining({ code: 'RIG_SITE_INVALID' }),
    );
    expect(readFileSync(path.join(other, 'keep.txt'), 'utf8')).toBe('mine');
    const out = path.join(root, 'site');
    buildSite({ root: REPO_ROOT, from: reports.dir, out, thresholds: [] });
    writeFileSync(path.join(out, 'stale.html'), '');
    buildSite({ root: REPO_ROOT, from: reports.dir, out, thresholds: [] });
    expect(existsSync(path.join(out, 'stale.html'))).toBe(false);
    const empty = path.join(root, 'empty');
    mkdirSync(empty);
    expect(() =>
      buildSite({ root: REPO_ROOT, from: empty, out: path.join(root, 'x'), thresholds: [] }),
    ).toThrow(expect.objectContaining({ code: 'RIG_SITE_INVALID' }));
  });

  it('publishes a combined Allure report as allure/ and links it from the index', () => {
    const root = tmp();
    const reports = writeSyntheticReports(path.join(root, 'reports'), { runs: 3 });
    const allure = path.join(root, 'allure');
    mkdirSync(allure);
    writeFileSync(path.join(allure, 'index.html'), '<!doctype html><title>allure</title>');
    const out = path.join(root, 'site');
    buildSite({ root: REPO_ROOT, from: reports.dir, out, thresholds: [], allureReport: allure });
    expect(readFileSync(path.join(out, 'allure', 'index.html'), 'utf8')).toContain('allure');
    expect(readFileSync(path.join(out, 'index.html'), 'utf8')).toContain('href="allure/index.html"');
    expect(() =>
      buildSite({ root: REPO_ROOT, from: reports.dir, out, thresholds: [], allureReport: root }),
    ).toThrow(expect.objectContaining({ code: 'RIG_SITE_INVALID' }));
  });

  it('rig site validates its flags', async () => {
    await expect(main(['site', '--keep', '0'])).rejects.toMatchObject({ code: 'RIG_USAGE' });
    await expect(main(['site', '--allure-keep', 'x'])).rejects.toMatchObject({ code: 'RIG_USAGE' });
  });
});

describe('what changed (assets/site.js compare, in a VM)', () => {
  interface Entry {
    id: string;
    relative: number | null;
    worse: boolean;
    by: string;
  }
  type Compared = { moved: Entry[]; steady: Entry[]; onlyOne: number } | null;
  const sandbox: { rigSite?: { compare: (site: unknown, a: string, b: string) => Compared } } = {};
  vm.runInNewContext(readFileSync(path.join(import.meta.dirname, 'assets', 'site.js'), 'utf8'), sandbox);
  const compare = sandbox.rigSite!.compare;
  const meta = (better: 'higher' | 'lower') => ({ system: 'x', suite: 's', unit: 'us', better, method: 'm' });
  const site = {
    history: {
      runs: [
        {
          id: 'a',
          profile: 'smoke',
          figures: {
            'x.big.p50': [100, 98, 102, 1],
            'x.small.p50': [100, 98, 102, 1],
            'x.rate': [1000, 990, 1010, 1],
            'x.ci.p50': [10, 9, 11, 1],
            'x.bad.p50': [10, 9, 11, 0],
            'x.gone.p50': [1, null, null, 1],
          },
        },
        {
          id: 'b',
          profile: 'smoke',
          figures: {
            'x.big.p50': [150, 148, 152, 1],
            'x.small.p50': [103, 101, 105, 1],
            'x.rate': [800, 790, 810, 1],
            'x.ci.p50': [13, 12.5, 13.5, 1],
            'x.bad.p50': [50, 49, 51, 1],
          },
        },
      ],
      figures: {
        'x.big.p50': meta('lower'),
        'x.small.p50': meta('lower'),
        'x.rate': meta('higher'),
        'x.ci.p50': meta('lower'),
        'x.bad.p50': meta('lower'),
      },
    },
    noise: {
      smoke: {
        'x.big.p50': { scale: 'log', spread: 0.05, runs: 5 },
        'x.small.p50': { scale: 'log', spread: 0.05, runs: 5 },
        'x.rate': { scale: 'log', spread: 0.05, runs: 5 },
      },
    },
  };

  it('lists what moved beyond its noise, largest first, and says by what it was judged', () => {
    const r = compare(site, 'a', 'b')!;
    expect(r.moved.map((e) => e.id)).toEqual(['x.big.p50', 'x.ci.p50', 'x.rate']);
    expect(r.moved[0]).toMatchObject({ worse: true, by: 'calibrated noise (5 A/A runs)' });
    expect(r.moved[0]!.relative).toBeCloseTo(0.5, 10);
    expect(r.moved[2]).toMatchObject({ worse: true });
    expect(r.moved[1]!.by).toBe('95% intervals');
    // 3% is within 2 x sqrt(2) x 5%; a run with no verdict is never "moved"; one figure is in a only.
    expect(r.steady.map((e) => e.id).sort()).toEqual(['x.bad.p50', 'x.small.p50']);
    expect(r.onlyOne).toBe(1);
    expect(compare(site, 'a', 'nope')).toBeNull();
  });
});
