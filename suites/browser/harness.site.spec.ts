// The report site (`rig site`) in a real Chromium with every network request refused: built from
// a synthetic history whose figures slow by 30% from a known run on, it must load offline, draw
// its charts, mark that change point at that run, show the run on hover, open its report on click,
// compare two runs, and have no link that leads nowhere.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, type Page, test } from '@playwright/test';
import { parseThresholds } from '../../harness/gate/thresholds.ts';
import { buildSite, chromiumUnavailableReason, REPO_ROOT } from '../../harness/index.ts';
import { type SyntheticReports, writeSyntheticReports } from '../harness/synthetic-reports.ts';

const noChromium = chromiumUnavailableReason();
test.skip(noChromium !== undefined, noChromium);

let tmp = '';
let site = '';
let reports: SyntheticReports;

test.beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rig-site-e2e-'));
  reports = writeSyntheticReports(path.join(tmp, 'reports'), {
    runs: 12,
    changeAt: 8,
    slowdown: 0.3,
    seed: 7,
  });
  const result = buildSite({
    root: REPO_ROOT,
    from: reports.dir,
    out: path.join(tmp, 'site'),
    thresholds: parseThresholds({ 'synthetic.op.p50': ['< 400us'] }, 'e2e'),
  });
  site = result.out;
});

test.afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** The page's one trend chart (assets/site.js keeps each in window.rigCharts by canvas id). */
const CHART = 'Object.values(window.rigCharts)[0]';

const url = (file: string) => pathToFileURL(path.join(site, file)).href;

/** Refuses every request that is not a local file, keeping the refused ones and page errors. */
async function offline(page: Page) {
  const refused: string[] = [];
  const errors: string[] = [];
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith('file:') || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
    refused.push(u);
    return route.abort();
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return { refused, errors };
}

test.describe('report site offline in Chromium', () => {
  test('the index lists every run with its commit, gate and report links, with no network', async ({
    page,
  }) => {
    const { refused, errors } = await offline(page);
    await page.goto(url('index.html'));
    await expect(page.locator('#runs tbody tr')).toHaveCount(12);
    const newest = page.locator(`#runs tr[data-run="${reports.runIds[11]}"]`);
    await expect(newest).toContainText('c0ffee00');
    await expect(newest).toContainText('main');
    await expect(page.locator(`#runs tr[data-run="${reports.runIds[reports.changeAt - 1]}"]`)).toContainText(
      'pass',
    );
    await expect(page.locator(`#runs tr[data-run="${reports.runIds[reports.changeAt]}"]`)).toContainText(
      'fail',
    );
    await expect(page.locator(`#runs tr[data-run="${reports.runIds[8]}"]`)).toContainText('injected +30%');
    await expect(page.locator('#recent-changes')).toContainText(reports.runIds[8]!);
    expect(refused).toEqual([]);
    expect(errors).toEqual([]);
  });

  test('a figure page draws its trend and marks the injected change at the first slowed run', async ({
    page,
  }) => {
    const { refused, errors } = await offline(page);
    await page.goto(url('figures/synthetic.op.p50.html'));
    await expect(page.locator('canvas[data-rendered="true"]')).toHaveCount(1);
    const marks = page.locator('tr.change-point');
    await expect(marks).toHaveCount(1);
    await expect(marks).toHaveAttribute('data-run', reports.runIds[reports.changeAt]!);
    const relative = Number(await marks.getAttribute('data-relative'));
    expect(relative).toBeGreaterThan(0.15);
    expect(relative).toBeLessThan(0.45);
    // The chart draws the same mark, the threshold line, the noise band and the interval band.
    const drawn = (await page.evaluate(`(() => {
      const chart = ${CHART};
      return {
        changes: chart.options.plugins.rigChanges.map((c) => c.index),
        labels: chart.data.datasets.map((d) => d.label),
        width: chart.width,
      };
    })()`)) as { changes: number[]; labels: string[]; width: number };
    expect(drawn.changes).toEqual([reports.changeAt]);
    expect(drawn.labels).toEqual(
      expect.arrayContaining(['threshold < 400us', 'baseline ± 2σ noise', '95% CI', 'synthetic.op.p50']),
    );
    expect(drawn.width).toBeGreaterThan(0);
    expect(refused).toEqual([]);
    expect(errors).toEqual([]);
  });

  test('rates mark the same run; a figure that did not move has no mark', async ({ page }) => {
    await offline(page);
    await page.goto(url('figures/synthetic.op.throughput.html'));
    await expect(page.locator('tr.change-point')).toHaveCount(1);
    await expect(page.locator('tr.change-point')).toHaveAttribute(
      'data-run',
      reports.runIds[reports.changeAt]!,
    );
    expect(Number(await page.locator('tr.change-point').getAttribute('data-relative'))).toBeLessThan(0);
    await page.goto(url('figures/synthetic.memory.growth.html'));
    await expect(page.locator('canvas[data-rendered="true"]')).toHaveCount(1);
    await expect(page.locator('tr.change-point')).toHaveCount(0);
    await expect(page.locator('.no-change')).toHaveCount(1);
  });

  test('hovering a point shows its run; clicking it opens that run report', async ({ page }) => {
    await offline(page);
    await page.goto(url('figures/synthetic.op.p50.html'));
    await expect(page.locator('canvas[data-rendered="true"]')).toHaveCount(1);
    const target = 5;
    const point = (await page.evaluate(`(() => {
      const chart = ${CHART};
      const el = chart.getDatasetMeta(chart.data.datasets.length - 1).data[${target}];
      const box = chart.canvas.getBoundingClientRect();
      return { x: box.left + el.x, y: box.top + el.y };
    })()`)) as { x: number; y: number };
    await page.mouse.move(point.x, point.y);
    await expect
      .poll(() =>
        page.evaluate(
          `(() => { const t = ${CHART}.tooltip; return [...(t.title || []), ...(t.body || []).flatMap((b) => b.after)].join(' '); })()`,
        ),
      )
      .toContain(reports.runIds[target]!);
    await page.mouse.click(point.x, point.y);
    await page.waitForURL(`**/runs/${reports.runIds[target]}/index.html*`);
    await expect(page.locator('h1')).toContainText(reports.runIds[target]!);
  });

  test('what changed: the slowed figures between the last run before and the first after, largest first', async ({
    page,
  }) => {
    const { errors } = await offline(page);
    const [a, b] = [reports.runIds[reports.changeAt - 1]!, reports.runIds[reports.changeAt]!];
    await page.goto(`${url('changes.html')}?a=${a}&b=${b}`);
    await expect(page.locator('body[data-compared="true"]')).toHaveCount(1);
    await expect(page.locator('#run-a')).toHaveValue(a);
    const moved = await page
      .locator('#moved tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-figure')));
    expect(moved).toEqual(expect.arrayContaining(['synthetic.op.p50', 'synthetic.op.throughput']));
    expect(moved).not.toContain('synthetic.memory.growth');
    const sizes = await page
      .locator('#moved tbody tr td:nth-child(4)')
      .evaluateAll((cells) => cells.map((c) => Math.abs(Number.parseFloat(c.textContent ?? ''))));
    expect(sizes).toEqual([...sizes].sort((x, y) => y - x));
    expect(errors).toEqual([]);
  });

  test('every link, script and stylesheet of every page resolves to a file in the site', async ({ page }) => {
    await offline(page);
    const seen = new Set<string>();
    const queue = [url('index.html')];
    const broken: string[] = [];
    while (queue.length > 0) {
      const next = queue.shift()!;
      if (seen.has(next)) continue;
      seen.add(next);
      await page.goto(next);
      const targets = (await page.evaluate(
        "[...document.querySelectorAll('a[href], script[src], link[href]')].map((e) => e.href || e.src)",
      )) as string[];
      for (const t of targets) {
        const u = new URL(t);
        expect(u.protocol, `${t} on ${next}`).toBe('file:');
        u.hash = '';
        u.search = '';
        const file = fileURLToPath(u);
        if (!existsSync(file)) broken.push(`${t} (on ${next})`);
        // The site's own pages are opened in turn; the run reports it links to are rig's run
        // reports (suites/browser/harness.reports.spec.ts opens those).
        else if (file.endsWith('.html') && !file.includes(`${path.sep}runs${path.sep}`) && !seen.has(u.href))
          queue.push(u.href);
      }
    }
    expect(broken).toEqual([]);
    // index, changes, one system page and four figure pages.
    expect(seen.size).toBe(2 + 1 + 4);
  });
});
