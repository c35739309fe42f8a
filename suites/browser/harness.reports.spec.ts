// Both HTML reports of a run open in a real Chromium with every network request refused.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, type Page, test } from '@playwright/test';
import {
  chromiumUnavailableReason,
  generateAllure,
  loadRun,
  REPO_ROOT,
  writeReports,
} from '../../harness/index.ts';

const noChromium = chromiumUnavailableReason();
test.skip(noChromium !== undefined, noChromium);

let dir = '';

function figure(id: string, value: number, extra: Record<string, unknown> = {}) {
  return {
    id,
    system: id.split('.')[0],
    suite: 'latency',
    value,
    unit: 'us',
    better: 'lower',
    n: 10_000,
    method: 'e2e fixture',
    valid: true,
    runId: 'e2e',
    profile: 'smoke',
    at: new Date().toISOString(),
    stats: {
      n: 10_000,
      min: 1,
      p50: value,
      p90: value,
      p95: value,
      p99: value,
      max: value * 3,
      mean: value,
      sd: 1,
      ci95: [value * 0.9, value * 1.1],
      ciMethod: 'order-statistic',
    },
    ...extra,
  };
}

// A run directory made by hand: run.json, three figures (one invalid) and one Allure result.
test.beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rig-report-e2e-'));
  // Keep this fixture out of the real trend history.
  process.env.RIG_ALLURE_HISTORY = path.join(dir, 'allure-history.jsonl');
  writeFileSync(
    path.join(dir, 'run.json'),
    JSON.stringify({
      runId: 'e2e',
      profile: 'smoke',
      startedAt: new Date().toISOString(),
      argv: [],
      files: [],
      environment: { cores: 2 },
      tests: { passed: 1, failed: 0, skipped: 0, total: 1 },
    }),
  );
  const figures = [
    figure('demo.op.p50', 12, {
      percentiles: [
        [0, 5],
        [50, 12],
        [99, 40],
        [100, 90],
      ],
    }),
    figure('demo.op.p99', 40, { valid: false, invalidReason: 'load driver saturated' }),
    figure('demo.op.throughput', 5000, {
      unit: 'ops/s',
      better: 'higher',
      series: [
        [0, 4900],
        [100, 5100],
        [200, 5000],
      ],
    }),
  ];
  writeFileSync(path.join(dir, 'figures.jsonl'), `${figures.map((f) => JSON.stringify(f)).join('\n')}\n`);
  const results = path.join(dir, 'allure-results');
  mkdirSync(results);
  const now = Date.now();
  writeFileSync(
    path.join(results, '00000000-0000-4000-8000-000000000001-result.json'),
    JSON.stringify({
      uuid: '00000000-0000-4000-8000-000000000001',
      historyId: 'e2e-1',
      name: 'an e2e fixture test',
      fullName: 'e2e fixture test',
      status: 'passed',
      stage: 'finished',
      start: now - 5,
      stop: now,
      labels: [{ name: 'suite', value: 'e2e' }],
      steps: [],
      attachments: [],
      parameters: [],
    }),
  );
});

test.afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Opens a local file with every request that leaves the file refused and kept in `refused`. */
async function openOffline(page: Page, file: string) {
  const refused: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:'))
      return route.continue();
    refused.push(url);
    return route.abort();
  });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`file://${file}`);
  return { refused, errors };
}

test.describe('reports open offline in Chromium', () => {
  test('rig HTML report: every figure row, verdicts and drawn charts, no network', async ({ page }) => {
    const run = loadRun(dir);
    const { written, errors: reportErrors } = writeReports(run);
    expect(reportErrors).toEqual([]);
    const html = written.find((f) => f.endsWith('index.html'))!;
    const { refused, errors } = await openOffline(page, html);
    expect(await page.locator('tbody tr').count()).toBe(3);
    await expect.poll(() => page.locator('tr.s-invalid').count()).toBe(1);
    expect(await page.locator('tr.s-invalid').textContent()).toContain('load driver saturated');
    expect(await page.evaluate('typeof window.Chart')).toBe('function');
    // Chart.js sizes and styles every canvas it draws on.
    const drawn = (await page.evaluate(
      "[...document.querySelectorAll('canvas')].map((c) => c.width > 0 && c.getAttribute('style') !== null)",
    )) as boolean[];
    expect(drawn.length).toBe(2);
    expect(drawn.every(Boolean)).toBe(true);
    expect(refused).toEqual([]);
    expect(errors).toEqual([]);
  });

  test('Allure report: generated offline, shows the tests, calls no one', async ({ page }) => {
    const run = loadRun(dir);
    const index = await generateAllure(run, REPO_ROOT);
    expect(index).toBeDefined();
    const { refused } = await openOffline(page, index!);
    // The summary names the run and the tree shows the fixture's suite. The report loads its data
    // file by file through the route above: on a loaded 2-core machine that took over 20 s once.
    await expect.poll(() => page.getByText('rig smoke e2e').count(), { timeout: 60_000 }).toBeGreaterThan(0);
    await expect
      .poll(() => page.getByText('e2e', { exact: true }).count(), { timeout: 60_000 })
      .toBeGreaterThan(0);
    expect(refused).toEqual([]);
  });
});
