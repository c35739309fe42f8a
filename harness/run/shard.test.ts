import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RigError } from '../errors.ts';
import { loadRun } from '../report/run-data.ts';
import { readRigEnv } from './env.ts';
import type { BrowserRunner } from './playwright.ts';
import { runSuites, type VitestRunner } from './run.ts';
import { blobFile, formatShard, parseShard } from './shard.ts';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function usageError(text: string): string {
  try {
    parseShard(text);
  } catch (error) {
    expect(error).toBeInstanceOf(RigError);
    expect((error as RigError).code).toBe('RIG_USAGE');
    return (error as RigError).message;
  }
  throw new Error(`"${text}" was accepted`);
}

describe('--shard I/N', () => {
  it('takes 1 <= I <= N and refuses anything else with RIG_USAGE', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(formatShard({ index: 1, count: 4 })).toBe('1/4');
    expect(usageError('3/2')).toMatch(/--shard "3\/2" must have 1 <= I <= N/);
    for (const bad of ['0/2', '1/0', '1', 'a/b', '1/2/3', '-1/2', ' 1/2', '01/2'])
      expect(usageError(bad)).toMatch(/--shard/);
    expect(blobFile('/r/run', { index: 2, count: 3 })).toBe(path.join('/r/run', 'blob', 'blob-2-3.json'));
  });

  it('RIG_SHARD and RIG_ALLURE_LABELS are checked like every RIG_* variable', () => {
    expect(readRigEnv({ RIG_SHARD: '1/2' }).RIG_SHARD).toBe('1/2');
    expect(() => readRigEnv({ RIG_SHARD: '3/2' })).toThrow(/RIG_SHARD: must have 1 <= I <= N/);
    expect(readRigEnv({ RIG_ALLURE_LABELS: 'os=ubuntu-24.04, node=22' }).RIG_ALLURE_LABELS).toEqual({
      os: 'ubuntu-24.04',
      node: '22',
    });
    expect(() => readRigEnv({ RIG_ALLURE_LABELS: 'os' })).toThrow(/RIG_ALLURE_LABELS: "os" must look like/);
    expect(() => readRigEnv({ RIG_ALLURE_LABELS: 'os=a/b' })).toThrow(/RIG_ALLURE_LABELS/);
  });

  it('rig run --shard hands vitest its part and RIG_SHARD, runs the browser suites in shard 1 only, and records the shard', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'rig-shard-'));
    roots.push(root);
    mkdirSync(path.join(root, 'suites', 'latency'), { recursive: true });
    mkdirSync(path.join(root, 'suites', 'browser'), { recursive: true });
    mkdirSync(path.join(root, 'thresholds'));
    writeFileSync(path.join(root, 'suites', 'latency', 'selftest.a.latency.test.ts'), '');
    writeFileSync(path.join(root, 'suites', 'browser', 'selftest.ui.spec.ts'), '');
    const seen: Array<{ runner: string; shard?: string; env?: string; labels?: string }> = [];
    const vitest: VitestRunner = async ({ env, shard }) => {
      seen.push({
        runner: 'vitest',
        ...(shard ? { shard: formatShard(shard) } : {}),
        ...(env.RIG_SHARD ? { env: env.RIG_SHARD } : {}),
        ...(env.ALLURE_LABEL_rig_environment ? { labels: env.ALLURE_LABEL_rig_environment } : {}),
      });
      return 0;
    };
    const playwright: BrowserRunner = async () => {
      seen.push({ runner: 'playwright' });
      return 0;
    };
    const before = process.env.RIG_ALLURE_LABELS;
    process.env.RIG_ALLURE_LABELS = 'os=linux,node=20';
    try {
      for (const index of [1, 2]) {
        const outcome = await runSuites({
          root,
          profile: 'smoke',
          suites: ['latency', 'e2e'],
          shard: { index, count: 2 },
          argv: [],
          log: () => {},
          vitest,
          playwright,
        });
        expect(loadRun(outcome.dir).meta.shard).toEqual({ index, count: 2 });
      }
    } finally {
      if (before === undefined) delete process.env.RIG_ALLURE_LABELS;
      else process.env.RIG_ALLURE_LABELS = before;
    }
    expect(seen).toEqual([
      { runner: 'vitest', shard: '1/2', env: '1/2', labels: 'os=linux node=20' },
      { runner: 'playwright' },
      { runner: 'vitest', shard: '2/2', env: '2/2', labels: 'os=linux node=20' },
    ]);
  });
});
