// The report site's history: one compact record per run (its metadata, verdict counts and every
// figure's value and interval), read from run directories and from the previous site's
// data/history.json, bounded to the newest N runs per profile with the older ones folded into a
// summary. The site's pages are drawn from it, and the next site carries it over.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readTextFile } from '../../config/text-file.ts';
import { formatZodIssues } from '../../config/zod-error.ts';
import { RigError } from '../../errors.ts';
import type { Figure } from '../../measure/figure.ts';
import { findRunDirs, loadRun, type RunData } from '../run-data.ts';

export const HISTORY_VERSION = 1;

const CountsSchema = z
  .object({ passed: z.number(), failed: z.number(), skipped: z.number(), total: z.number() })
  .strict();

/** One figure in one run: [value, ci low, ci high, 1 valid | 0 no verdict]; no interval is null. */
export const PointSchema = z.tuple([
  z.number(),
  z.number().nullable(),
  z.number().nullable(),
  z.union([z.literal(0), z.literal(1)]),
]);
export type Point = z.infer<typeof PointSchema>;

export const GATE_STATES = ['pass', 'fail', 'no verdict', 'not judged'] as const;
export type GateState = (typeof GATE_STATES)[number];

export const SiteRunSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a run id is letters, digits, ".", "_" and "-"'),
    profile: z.string(),
    startedAt: z.string(),
    finishedAt: z.string().optional(),
    commit: z.string().optional(),
    branch: z.string().optional(),
    dirty: z.boolean().optional(),
    /** "cpu x cores, os, node": what the figures were measured on. */
    machine: z.string(),
    /** OS family and Node major ("Linux node 20"): runs of one profile on several are drawn apart. */
    platform: z.string().optional(),
    tests: CountsSchema.optional(),
    /** How many figures got each gate state (pass, breach, regressed, invalid, ...). */
    verdicts: z.record(z.string(), z.number()).optional(),
    gate: z.enum(GATE_STATES),
    /** `rig run --inject-slowdown F`. */
    injected: z.number().optional(),
    /** The run's HTML report and Allure report, relative to the site's root, where the site has them. */
    report: z.string().optional(),
    allure: z.string().optional(),
    figures: z.record(z.string(), PointSchema),
  })
  .strict();
export type SiteRun = z.infer<typeof SiteRunSchema>;

export const FigureMetaSchema = z
  .object({
    system: z.string(),
    suite: z.string(),
    unit: z.string(),
    better: z.enum(['higher', 'lower']),
    scale: z.enum(['log', 'linear']).optional(),
    method: z.string(),
  })
  .strict();
export type FigureMeta = z.infer<typeof FigureMetaSchema>;

/** Runs dropped from the kept history, folded together: per figure n, min, max and mean. */
export const OlderSchema = z
  .object({
    runs: z.number().int().nonnegative(),
    from: z.string(),
    to: z.string(),
    figures: z.record(
      z.string(),
      z
        .object({ n: z.number().int().positive(), min: z.number(), max: z.number(), mean: z.number() })
        .strict(),
    ),
  })
  .strict();
export type Older = z.infer<typeof OlderSchema>;

export const HistorySchema = z
  .object({
    version: z.literal(HISTORY_VERSION),
    generatedAt: z.string(),
    /** Runs kept per profile. */
    keep: z.number().int().positive(),
    runs: z.array(SiteRunSchema),
    figures: z.record(z.string(), FigureMetaSchema),
    older: z.record(z.string(), OlderSchema),
  })
  .strict();
export type History = z.infer<typeof HistorySchema>;

export const emptyHistory = (keep: number): History => ({
  version: HISTORY_VERSION,
  generatedAt: new Date(0).toISOString(),
  keep,
  runs: [],
  figures: {},
  older: {},
});

/** What a run's verdicts say, and its failed tests: a breach, regression or failed test fails it. */
export function gateState(run: Pick<RunData, 'verdicts' | 'meta'>): GateState {
  if ((run.meta.tests?.failed ?? 0) > 0) return 'fail';
  if (!run.verdicts) return 'not judged';
  if (run.verdicts.some((v) => v.state === 'breach' || v.state === 'regressed')) return 'fail';
  const judged = run.verdicts.some((v) => v.state === 'pass' || v.state === 'improved');
  const noVerdict = run.verdicts.some((v) => v.state === 'invalid' && (v.rules.length > 0 || v.baseline));
  // Judged figures without a verdict are counted beside the state; they do not make a pass a fail.
  return judged ? 'pass' : noVerdict ? 'no verdict' : 'not judged';
}

function pointOf(f: Figure): Point {
  const ci = f.stats && f.stats.ciMethod !== 'none' ? f.stats.ci95 : undefined;
  return [f.value, ci ? ci[0] : null, ci ? ci[1] : null, f.valid ? 1 : 0];
}

/** A run directory as the site keeps it (its reports' paths are set when they are copied). */
export function siteRunOf(run: RunData): { run: SiteRun; figures: Record<string, FigureMeta> } {
  const env = run.meta.environment as Record<string, unknown>;
  const str = (k: string) => (typeof env[k] === 'string' ? (env[k] as string) : undefined);
  const machine = [
    `${str('cpu') ?? 'unknown cpu'} x ${typeof env.cores === 'number' ? env.cores : '?'}`,
    str('os'),
    str('node'),
  ]
    .filter(Boolean)
    .join(', ');
  const verdicts: Record<string, number> = {};
  for (const v of run.verdicts ?? []) verdicts[v.state] = (verdicts[v.state] ?? 0) + 1;
  const figures: Record<string, Point> = {};
  const meta: Record<string, FigureMeta> = {};
  for (const f of run.figures) {
    // A figure recorded twice in one run (a retried test): the last one stands, as in the gate.
    figures[f.id] = pointOf(f);
    meta[f.id] = {
      system: f.system,
      suite: f.suite,
      unit: f.unit,
      better: f.better,
      method: f.method,
      ...(f.scale ? { scale: f.scale } : {}),
    };
  }
  const commit = str('commit');
  const branch = str('branch');
  const osFamily = str('os')?.split(' ')[0];
  const nodeMajor = str('node')?.match(/^v?(\d+)/)?.[1];
  const platform = osFamily && nodeMajor ? `${osFamily} node ${nodeMajor}` : undefined;
  return {
    run: {
      id: run.meta.runId,
      profile: run.meta.profile,
      startedAt: run.meta.startedAt,
      ...(run.meta.finishedAt ? { finishedAt: run.meta.finishedAt } : {}),
      ...(commit ? { commit } : {}),
      ...(branch ? { branch } : {}),
      ...(typeof env.dirty === 'boolean' ? { dirty: env.dirty } : {}),
      machine,
      ...(platform ? { platform } : {}),
      ...(run.meta.tests ? { tests: run.meta.tests } : {}),
      ...(run.verdicts ? { verdicts } : {}),
      gate: gateState(run),
      ...(run.meta.injected ? { injected: run.meta.injected.slowdown } : {}),
      figures,
    },
    figures: meta,
  };
}

/** Every run directory under `dir` (those with a run.json), loaded; unreadable ones are reported, not fatal. */
export function loadRunDirs(dir: string): { runs: RunData[]; skipped: string[] } {
  if (!existsSync(dir)) throw new RigError('RIG_SITE_INVALID', `${dir} does not exist`);
  const runs: RunData[] = [];
  const skipped: string[] = [];
  for (const runDir of findRunDirs(dir)) {
    try {
      runs.push(loadRun(runDir));
    } catch (error) {
      skipped.push(`${path.relative(dir, runDir)}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return { runs, skipped };
}

/** The previous site's data/history.json; undefined when it has none (a first publication). */
export function readHistory(siteDir: string): History | undefined {
  const file = path.join(siteDir, 'data', 'history.json');
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readTextFile(file));
  } catch (error) {
    throw new RigError('RIG_SITE_INVALID', `${file}: ${(error as Error).message}`);
  }
  const parsed = HistorySchema.safeParse(json);
  if (!parsed.success) throw new RigError('RIG_SITE_INVALID', `${file}: ${formatZodIssues(parsed.error)}`);
  return parsed.data;
}

function foldOlder(older: Older | undefined, run: SiteRun): Older {
  const out: Older = older
    ? { ...older, figures: { ...older.figures } }
    : { runs: 0, from: run.startedAt, to: run.startedAt, figures: {} };
  out.runs += 1;
  if (run.startedAt < out.from) out.from = run.startedAt;
  if (run.startedAt > out.to) out.to = run.startedAt;
  for (const [id, [value, , , valid]] of Object.entries(run.figures)) {
    if (!valid) continue;
    const s = out.figures[id];
    out.figures[id] = s
      ? {
          n: s.n + 1,
          min: Math.min(s.min, value),
          max: Math.max(s.max, value),
          mean: s.mean + (value - s.mean) / (s.n + 1),
        }
      : { n: 1, min: value, max: value, mean: value };
  }
  return out;
}

/**
 * The previous history plus new runs (a new run replaces a carried one of the same id), in start
 * order, bounded to the newest `keep` runs per profile; dropped runs are folded into `older`.
 */
export function mergeHistory(
  previous: History | undefined,
  added: Array<{ run: SiteRun; figures: Record<string, FigureMeta> }>,
  keep: number,
): { history: History; dropped: SiteRun[] } {
  const byId = new Map<string, SiteRun>();
  for (const r of previous?.runs ?? []) byId.set(r.id, r);
  const figures: Record<string, FigureMeta> = { ...(previous?.figures ?? {}) };
  for (const a of added) {
    byId.set(a.run.id, a.run);
    Object.assign(figures, a.figures);
  }
  const all = [...byId.values()].sort(
    (a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id),
  );
  const perProfile = new Map<string, SiteRun[]>();
  for (const r of all) perProfile.set(r.profile, [...(perProfile.get(r.profile) ?? []), r]);
  const older: Record<string, Older> = { ...(previous?.older ?? {}) };
  const dropped: SiteRun[] = [];
  for (const [profile, runs] of perProfile) {
    for (const r of runs.slice(0, Math.max(0, runs.length - keep))) {
      older[profile] = foldOlder(older[profile], r);
      dropped.push(r);
    }
  }
  const droppedIds = new Set(dropped.map((r) => r.id));
  const runs = all.filter((r) => !droppedIds.has(r.id));
  // Figures no kept run has any more are forgotten, except as the older runs' summaries name them.
  const live = new Set(runs.flatMap((r) => Object.keys(r.figures)));
  for (const id of Object.keys(figures)) if (!live.has(id)) delete figures[id];
  return {
    history: { version: HISTORY_VERSION, generatedAt: new Date().toISOString(), keep, runs, figures, older },
    dropped,
  };
}

/**
 * The trend line a run belongs to: its profile, or, where the profile's kept runs come from more
 * than one platform (the nightly matrix: Linux, macOS, Windows x Node 20/22/24), profile and
 * platform: figures of different machines are not one series.
 */
export function lanesOf(history: History): Map<string, string> {
  const platforms = new Map<string, Set<string>>();
  for (const r of history.runs) {
    const set = platforms.get(r.profile) ?? new Set<string>();
    set.add(r.platform ?? '');
    platforms.set(r.profile, set);
  }
  return new Map(
    history.runs.map((r) => [
      r.id,
      (platforms.get(r.profile)?.size ?? 0) > 1
        ? `${r.profile} · ${r.platform ?? 'unknown platform'}`
        : r.profile,
    ]),
  );
}

/** A figure's values over the kept runs of one lane (a profile, or profile and platform), oldest first. */
export interface Series {
  figure: string;
  profile: string;
  lane: string;
  runs: SiteRun[];
  points: Point[];
}

export function seriesOf(
  history: History,
  figure: string,
  lanes: Map<string, string> = lanesOf(history),
): Series[] {
  const byLane = new Map<string, Series>();
  for (const run of history.runs) {
    const point = run.figures[figure];
    if (!point) continue;
    const lane = lanes.get(run.id) ?? run.profile;
    let s = byLane.get(lane);
    if (!s) {
      s = { figure, profile: run.profile, lane, runs: [], points: [] };
      byLane.set(lane, s);
    }
    s.runs.push(run);
    s.points.push(point);
  }
  return [...byLane.values()].sort((a, b) => a.lane.localeCompare(b.lane));
}
