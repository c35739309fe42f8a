// A reports/ folder of synthetic runs whose truth is known: every log-scale figure slows by
// `slowdown` from run `changeAt` on, with calibrated noise in reports/baselines/<profile>.json.
// The report site's tests build a site from it and check that the change is marked where it is.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Figure, seededRandom } from '../../harness/index.ts';
import { type SyntheticFigure, syntheticRun } from './synthetic-runs.ts';

export const SYNTHETIC_FIGURES: SyntheticFigure[] = [
  { id: 'synthetic.op.p50', centre: 120, spread: 0.04, better: 'lower', scale: 'log', unit: 'us' },
  {
    id: 'synthetic.op.throughput',
    centre: 50_000,
    spread: 0.04,
    better: 'higher',
    scale: 'log',
    unit: 'ops/s',
  },
  { id: 'synthetic.op+batch.p99', centre: 900, spread: 0.05, better: 'lower', scale: 'log', unit: 'us' },
  { id: 'synthetic.memory.growth', centre: 2, spread: 0.5, better: 'lower', scale: 'linear', unit: 'MB' },
];

export interface SyntheticReports {
  dir: string;
  runIds: string[];
  /** Index of the first slowed run. */
  changeAt: number;
}

/**
 * `runs` runs of profile `profile` in `dir` (run.json, figures.jsonl, verdicts.json), one day apart
 * from `start`; runs from `changeAt` on are `slowdown` slower, and the first of them is marked as
 * an injected slowdown, as `rig run --inject-slowdown` marks it.
 */
export function writeSyntheticReports(
  dir: string,
  options: {
    runs?: number;
    changeAt?: number;
    slowdown?: number;
    seed?: number;
    profile?: string;
    start?: string;
    idPrefix?: string;
  } = {},
): SyntheticReports {
  const runs = options.runs ?? 12;
  const changeAt = options.changeAt ?? 8;
  const slowdown = options.slowdown ?? 0.3;
  const profile = options.profile ?? 'smoke';
  const start = Date.parse(options.start ?? '2026-11-01T02:00:00Z');
  const random = seededRandom(options.seed ?? 7);
  const runIds: string[] = [];
  for (let i = 0; i < runs; i++) {
    const startedAt = new Date(start + i * 86_400_000).toISOString();
    const runId = `${options.idPrefix ?? ''}${startedAt.slice(0, 10).replace(/-/g, '')}-020000-${profile}`;
    runIds.push(runId);
    const runDir = path.join(dir, runId);
    mkdirSync(runDir, { recursive: true });
    const slowed = i >= changeAt;
    const figures: Figure[] = syntheticRun(SYNTHETIC_FIGURES, random, slowed ? slowdown : 0).map((f) => ({
      ...f,
      runId,
      profile,
      at: startedAt,
      method: 'synthetic: a known slowdown from the change on',
      stats: {
        n: 1000,
        min: f.value * 0.8,
        p50: f.value,
        p90: f.value * 1.1,
        p95: f.value * 1.15,
        p99: f.value * 1.3,
        max: f.value * 2,
        mean: f.value,
        sd: Math.abs(f.value) * 0.05,
        ci95: [f.value - Math.abs(f.value) * 0.02, f.value + Math.abs(f.value) * 0.02],
        ciMethod: 'bootstrap',
      },
    }));
    writeFileSync(
      path.join(runDir, 'run.json'),
      JSON.stringify({
        runId,
        profile,
        startedAt,
        finishedAt: new Date(start + i * 86_400_000 + 60_000).toISOString(),
        argv: ['run'],
        files: [],
        environment: {
          host: 'synthetic',
          os: 'Linux 6.1 x64',
          cpu: 'Synthetic CPU',
          cores: 2,
          memoryGiB: 24,
          node: 'v20.20.2',
          commit: `c0ffee${String(i).padStart(6, '0')}`,
          branch: 'main',
          dirty: false,
          ci: true,
        },
        tests: { passed: 10, failed: 0, skipped: 1, total: 11 },
        ...(i === changeAt ? { injected: { slowdown } } : {}),
      }),
    );
    writeFileSync(
      path.join(runDir, 'figures.jsonl'),
      `${figures.map((f) => JSON.stringify(f)).join('\n')}\n`,
    );
    // What the gate said: the slowed latency regressed, everything else passed.
    const verdicts = figures.map((f) => ({
      id: f.id,
      state: slowed && f.id === 'synthetic.op.p50' ? 'regressed' : 'pass',
      rules: [],
      why: 'synthetic',
    }));
    writeFileSync(path.join(runDir, 'verdicts.json'), JSON.stringify({ verdicts }));
  }
  // The noise the gate would have calibrated: each figure's spread, over 10 A/A runs.
  mkdirSync(path.join(dir, 'baselines'), { recursive: true });
  writeFileSync(
    path.join(dir, 'baselines', `${profile}.json`),
    JSON.stringify({
      profile,
      createdAt: new Date(start).toISOString(),
      runId: runIds[0],
      calibration: { runIds: runIds.slice(0, 1), method: 'synthetic' },
      figures: Object.fromEntries(
        SYNTHETIC_FIGURES.map((f) => [
          f.id,
          {
            value: f.centre,
            unit: f.unit ?? 'us',
            better: f.better,
            n: 1000,
            runs: 10,
            scale: f.scale,
            spread: f.spread,
          },
        ]),
      ),
    }),
  );
  return { dir, runIds, changeAt };
}
