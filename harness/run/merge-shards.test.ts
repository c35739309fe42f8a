import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RigError } from '../errors.ts';
import { loadRun } from '../report/run-data.ts';
import { mergeShards, spawnMergeReports } from './merge-shards.ts';
import { runSuites, spawnVitest } from './run.ts';

const repo = path.resolve(import.meta.dirname, '..', '..');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rig-merge-'));
  roots.push(dir);
  return dir;
}

/** A figure as recordFigure writes it, less the run's fields (runId, profile, at). */
function figureOf(topic: string) {
  return {
    id: `selftest.${topic}.p99`,
    system: 'selftest',
    suite: 'latency',
    value: 10,
    unit: 'us',
    better: 'lower',
    n: 5000,
    method: 'fake',
    valid: true,
    stats: {
      n: 5000,
      min: 1,
      p50: 10,
      p90: 10,
      p95: 10,
      p99: 10,
      max: 10,
      mean: 10,
      sd: 1,
      ci95: [9.8, 10.2],
      ciMethod: 'bootstrap',
    },
  };
}

/**
 * A test file of the tiny project: two passing tests, one skipped, and one figure written to the
 * run's figures.jsonl the way recordFigure does (no harness import: vitest starts in a blink).
 */
function suiteFile(topic: string): string {
  return `import { appendFileSync } from 'node:fs';
import { test } from 'vitest';
test('${topic} one', () => {
  const figure = { ...${JSON.stringify(figureOf(topic))}, runId: process.env.RIG_RUN_ID, profile: 'smoke', at: new Date().toISOString() };
  appendFileSync(process.env.RIG_RUN_DIR + '/figures.jsonl', JSON.stringify(figure) + '\\n');
});
test('${topic} two', () => {});
test.skip('${topic} later', () => {});
`;
}

/** A repository of three latency suites that runs the real vitest with rig's vitest.config.ts. */
function tinyProject(): string {
  const root = tempDir();
  symlinkSync(path.join(repo, 'node_modules'), path.join(root, 'node_modules'), 'junction');
  writeFileSync(path.join(root, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(
    path.join(root, 'vitest.config.ts'),
    // forward slashes: an absolute specifier Vite's config bundler takes on Windows too
    `export { default } from ${JSON.stringify(path.join(repo, 'vitest.config.ts').split(path.sep).join('/'))};\n`,
  );
  mkdirSync(path.join(root, 'suites', 'latency'), { recursive: true });
  for (const topic of ['alpha', 'beta', 'gamma'])
    writeFileSync(
      path.join(root, 'suites', 'latency', `selftest.${topic}.latency.test.ts`),
      suiteFile(topic),
    );
  mkdirSync(path.join(root, 'thresholds'));
  writeFileSync(
    path.join(root, 'thresholds', 'selftest.json'),
    JSON.stringify({ 'selftest.alpha.p99': ['< 50us'] }),
  );
  return root;
}

const results = (dir: string) =>
  existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('-result.json')) : [];

describe('rig merge, on a real vitest project', () => {
  it('makes one run of two shards: counts add up, junit holds every test once, figures and Allure results join', async () => {
    const root = tinyProject();
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    const quietVitest: typeof spawnVitest = (job) => spawnVitest({ ...job, quiet: true });
    const shards = [];
    for (const index of [1, 2]) {
      shards.push(
        await runSuites({
          root,
          profile: 'smoke',
          shard: { index, count: 2 },
          argv: ['run', '--shard', `${index}/2`],
          log,
          vitest: quietVitest,
        }),
      );
    }
    expect(existsSync(path.join(shards[0]!.dir, 'blob', 'blob-1-2.json'))).toBe(true);
    expect(existsSync(path.join(shards[1]!.dir, 'blob', 'blob-2-2.json'))).toBe(true);
    const shardTotals = shards.map((s) => s.tests?.total ?? 0);
    expect(shardTotals.reduce((a, b) => a + b, 0)).toBe(9);
    expect(shardTotals.every((t) => t > 0 && t < 9)).toBe(true);
    expect(loadRun(shards[1]!.dir).meta.shard).toEqual({ index: 2, count: 2 });

    const out = path.join(root, 'merged');
    const merged = await mergeShards({
      root,
      runDirs: shards.map((s) => s.dir).reverse(),
      out,
      argv: ['merge'],
      log,
      mergeReports: (job) => spawnMergeReports({ ...job, quiet: true }),
    });
    expect(merged.exitCode, lines.join('\n')).toBe(0);
    const run = loadRun(merged.dir);
    expect(run.meta.tests).toEqual({ passed: 6, failed: 0, skipped: 3, total: 9 });
    expect(run.meta.shards?.map((s) => [s.index, s.runId])).toEqual([
      [1, shards[0]!.runId],
      [2, shards[1]!.runId],
    ]);
    expect(run.meta.shard).toBeUndefined();
    expect(run.meta.files).toHaveLength(3);
    const starts = shards.map((s) => loadRun(s.dir).meta.startedAt).sort();
    expect(run.meta.startedAt).toBe(starts[0]);
    const cases = [
      ...readFileSync(path.join(merged.dir, 'junit.xml'), 'utf8').matchAll(/<testcase[^>]*name="([^"]*)"/g),
    ]
      .map((m) => m[1])
      .sort();
    expect(cases).toHaveLength(9);
    expect(new Set(cases).size).toBe(9);
    expect(run.figures.map((f) => f.id).sort()).toEqual([
      'selftest.alpha.p99',
      'selftest.beta.p99',
      'selftest.gamma.p99',
    ]);
    // the shards' own Allure results, not vitest's re-rendering of them on top
    const shardResults = shards.flatMap((s) => results(path.join(s.dir, 'allure-results')));
    expect(shardResults).toHaveLength(6);
    expect(results(path.join(merged.dir, 'allure-results')).sort()).toEqual(shardResults.sort());
    // the gate judged the merged run, whose reports and `latest` link are there
    expect(run.verdicts?.find((v) => v.id === 'selftest.alpha.p99')?.state).toBe('pass');
    expect(readlinkSync(path.join(out, 'latest'))).toBe(merged.runId);
    expect(existsSync(path.join(merged.dir, 'index.html'))).toBe(true);
  }, 60_000);
});

/** A shard run directory as `rig run --shard` leaves it, without running anything. */
function fakeShard(
  parent: string,
  index: number,
  count: number,
  meta: Record<string, unknown> = {},
  blob = true,
): string {
  const dir = path.join(parent, `run-${index}-${count}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(path.join(dir, 'blob'), { recursive: true });
  if (blob) writeFileSync(path.join(dir, 'blob', `blob-${index}-${count}.json`), '[]');
  writeFileSync(
    path.join(dir, 'run.json'),
    JSON.stringify({
      runId: path.basename(dir),
      profile: 'nightly',
      startedAt: new Date().toISOString(),
      argv: [],
      files: ['suites/latency/a.latency.test.ts'],
      environment: { commit: 'abc' },
      vitestExitCode: 0,
      shard: { index, count },
      ...meta,
    }),
  );
  return dir;
}

async function mergeError(runDirs: string[], extra: { from?: string; partial?: boolean } = {}) {
  const root = tempDir();
  try {
    await mergeShards({
      root,
      runDirs,
      ...extra,
      out: path.join(root, 'out'),
      argv: ['merge'],
      log: () => {},
      mergeReports: async () => {
        throw new Error('must not run');
      },
    });
  } catch (error) {
    expect(error).toBeInstanceOf(RigError);
    return { code: (error as RigError).code, message: (error as RigError).message };
  }
  throw new Error('no error');
}

describe('rig merge refuses what is not the shards of one run', () => {
  const parent = tempDir();

  it('a folder without run.json, a run that is not a shard, a shard whose vitest left no blob', async () => {
    const empty = path.join(parent, 'empty');
    mkdirSync(empty);
    expect(await mergeError([empty])).toMatchObject({ code: 'RIG_MERGE_INVALID', message: /no run\.json/ });
    const whole = fakeShard(parent, 1, 1, { shard: undefined });
    expect(await mergeError([whole])).toMatchObject({ code: 'RIG_MERGE_INVALID', message: /not a shard/ });
    const killed = fakeShard(parent, 1, 2, {}, false);
    expect(await mergeError([killed, fakeShard(parent, 2, 2)])).toMatchObject({
      code: 'RIG_MERGE_INVALID',
      message: /no blob report/,
    });
    expect(await mergeError([], { from: empty })).toMatchObject({ code: 'RIG_MERGE_INVALID' });
    const broken = fakeShard(parent, 1, 2, { profile: 7 });
    expect(await mergeError([broken])).toMatchObject({ code: 'RIG_MERGE_INVALID', message: /profile/ });
  });

  it('mixed profiles, other commits, other selections, a shard twice or missing', async () => {
    const one = fakeShard(parent, 1, 2);
    expect(await mergeError([one, fakeShard(parent, 2, 2, { profile: 'smoke' })])).toMatchObject({
      code: 'RIG_MERGE_MISMATCH',
      message: /different profiles: nightly .*; smoke/,
    });
    expect(
      await mergeError([one, fakeShard(parent, 2, 2, { environment: { commit: 'def' } })]),
    ).toMatchObject({
      code: 'RIG_MERGE_MISMATCH',
      message: /different commits/,
    });
    expect(await mergeError([one, fakeShard(parent, 2, 2, { files: ['x.test.ts'] })])).toMatchObject({
      code: 'RIG_MERGE_MISMATCH',
      message: /selections of test files/,
    });
    expect(await mergeError([one, fakeShard(parent, 2, 3)])).toMatchObject({
      code: 'RIG_MERGE_MISMATCH',
      message: /shard counts/,
    });
    expect(await mergeError([one, fakeShard(parent, 1, 2)])).toMatchObject({
      code: 'RIG_MERGE_MISMATCH',
      message: /shard 1\/2 is given twice/,
    });
    expect(await mergeError([one])).toMatchObject({
      code: 'RIG_MERGE_MISMATCH',
      message: /2\/2 are missing/,
    });
  });
});

describe('rig merge when vitest cannot merge', () => {
  it("keeps the shards' counts, joins their figures once each, and fails the run", async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'thresholds'));
    const parent = path.join(root, 'shards');
    const line = JSON.stringify({
      ...figureOf('alpha'),
      runId: 'r',
      profile: 'nightly',
      at: '2026-12-01T00:00:00Z',
    });
    const tests = { passed: 2, failed: 0, skipped: 1, total: 3 };
    const dirs = [1, 2].map((index) => {
      const dir = fakeShard(parent, index, 2, { tests, startedAt: `2026-12-01T0${index}:00:00.000Z` });
      writeFileSync(path.join(dir, 'figures.jsonl'), `${line}\n`);
      return dir;
    });
    const outcome = await mergeShards({
      root,
      from: parent,
      argv: ['merge'],
      log: () => {},
      mergeReports: async () => 1,
    });
    expect(outcome.exitCode).toBe(1);
    const run = loadRun(outcome.dir);
    expect(run.meta.tests).toEqual({ passed: 4, failed: 0, skipped: 2, total: 6 });
    expect(run.meta.vitestExitCode).toBe(1);
    expect(run.meta.startedAt).toBe('2026-12-01T01:00:00.000Z');
    expect(run.figures).toHaveLength(1);
    expect(run.meta.shards?.map((s) => s.runId)).toEqual(dirs.map((d) => path.basename(d)));
  });
});
