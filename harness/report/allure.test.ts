import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { allureConfigSource, allureLabelEnv, ENVIRONMENT_LABEL, resultEnvironments } from './allure.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Matcher = (input: { labels: Array<{ name: string; value: string }> }) => boolean;

describe('Allure results of several CI jobs in one report', () => {
  it('RIG_ALLURE_LABELS become ALLURE_LABEL_* variables and one environment label', () => {
    expect(allureLabelEnv(undefined)).toEqual({});
    expect(allureLabelEnv({ os: 'ubuntu-24.04', node: '22' })).toEqual({
      ALLURE_LABEL_os: 'ubuntu-24.04',
      ALLURE_LABEL_node: '22',
      [`ALLURE_LABEL_${ENVIRONMENT_LABEL}`]: 'os=ubuntu-24.04 node=22',
    });
  });

  it('finds the environments results carry, and writes one Allure environment per job matched on its label', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rig-allure-'));
    dirs.push(dir);
    const jobs = ['os=ubuntu-24.04 node=22', 'os=windows-2022 node=24'];
    for (const [i, env] of [...jobs, jobs[0], undefined].entries()) {
      const results = path.join(dir, `job${i}`);
      mkdirSync(results);
      const labels = [
        { name: 'suite', value: 'x' },
        ...(env ? [{ name: ENVIRONMENT_LABEL, value: env }] : []),
      ];
      writeFileSync(path.join(results, `${i}-result.json`), JSON.stringify({ name: 't', labels }));
      writeFileSync(path.join(results, `${i}-attachment.txt`), ENVIRONMENT_LABEL);
    }
    writeFileSync(path.join(dir, 'job0', 'torn-result.json'), `{"labels":[{"name":"${ENVIRONMENT_LABEL}"`);
    const found = resultEnvironments([0, 1, 2, 3, 9].map((i) => path.join(dir, `job${i}`)));
    expect(found).toEqual(jobs);

    const file = path.join(dir, 'allurerc.mjs');
    writeFileSync(
      file,
      allureConfigSource({
        name: 'rig nightly',
        output: '/out',
        historyPath: '/h.jsonl',
        environments: found,
      }),
    );
    const config = (await import(pathToFileURL(file).href)).default as {
      name: string;
      output: string;
      plugins: unknown;
      environments: Record<string, { name: string; matcher: Matcher }>;
    };
    expect(config.name).toBe('rig nightly');
    expect(config.plugins).toEqual({ awesome: { options: { singleFile: true } } });
    const ids = Object.keys(config.environments);
    // Allure's rule for an environment id
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(ids).toEqual(['os-ubuntu-24-04-node-22', 'os-windows-2022-node-24']);
    const windows = config.environments[ids[1]!]!;
    expect(windows.name).toBe(jobs[1]);
    expect(windows.matcher({ labels: [{ name: ENVIRONMENT_LABEL, value: jobs[1]! }] })).toBe(true);
    expect(windows.matcher({ labels: [{ name: ENVIRONMENT_LABEL, value: jobs[0]! }] })).toBe(false);
    expect(allureConfigSource({ name: 'n', output: 'o', historyPath: 'h', environments: [] })).not.toContain(
      'environments',
    );
  });
});
