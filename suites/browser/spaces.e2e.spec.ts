// The spaces relay's web UI in a real Chromium: an admin creates a space on /admin, an app
// (MockApp) connects, a request submitted on the space page comes back with its result; the
// connection indicator follows the app; user text is shown as text, never run as markup.
import { randomBytes } from 'node:crypto';
import { expect, type Page, test } from '@playwright/test';
import { chromiumUnavailableReason, recordFigure, startSystem } from '../../harness/index.ts';
import { MockApp, spacesSystem } from '../../systems/spaces/index.ts';

const noChromium = chromiumUnavailableReason();
test.skip(noChromium !== undefined, noChromium);

const ADMIN_TOKEN = `e2e-admin-${randomBytes(12).toString('hex')}`;
let relay: Awaited<ReturnType<typeof startRelay>> | undefined;
const apps: MockApp[] = [];

const startRelay = () =>
  startSystem(spacesSystem, { provider: 'inprocess', options: { adminToken: ADMIN_TOKEN } });

function endpoint(): string {
  if (!relay?.endpoint) throw new Error('the spaces relay did not start');
  return relay.endpoint;
}

/** A MockApp registered for `spaceId`, closed after the file. */
async function connectApp(spaceId: string, token: string): Promise<MockApp> {
  const app = new MockApp({ url: endpoint(), spaceId, token, delayMs: 5 });
  apps.push(app);
  await app.connect();
  return app;
}

/** A space made through the admin API (the first test makes one through the admin page). */
async function createSpace(spaceId: string): Promise<string> {
  const res = await fetch(`${endpoint()}/admin/spaces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ space_id: spaceId }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { app_token: string }).app_token;
}

/** Submits `input` on the space page; resolves to the new result item once it is listed. */
async function submit(page: Page, input: string) {
  const before = await page.getByTestId('result-item').count();
  await page.getByTestId('submit-input').fill(input);
  await page.getByTestId('submit-button').click();
  await expect(page.getByTestId('result-item')).toHaveCount(before + 1);
  await expect(page.getByTestId('submit-error')).toHaveText('');
  return page.getByTestId('result-item').first();
}

test.beforeAll(async () => {
  relay = await startRelay();
});

test.afterAll(async () => {
  for (const app of apps) await app.close();
  await relay?.stop();
});

test.describe('spaces web UI', () => {
  test('an admin creates a space; a connected app answers what the space page submits', async ({ page }) => {
    await page.goto(`${endpoint()}/admin`);
    await page.getByTestId('admin-token').fill(ADMIN_TOKEN);
    await page.getByTestId('token-form').getByRole('button', { name: 'Use' }).click();
    // The token is accepted: the feature toggles load and no error is shown.
    await expect(page.getByTestId('feature-web_ui')).toBeChecked();
    await expect(page.getByTestId('admin-error')).toHaveText('');

    const form = page.getByTestId('create-space-form');
    await page.getByTestId('create-space-id').fill('demo');
    await page.getByTestId('create-space-name').fill('Demo space');
    await form.getByRole('button', { name: 'Create' }).click();
    const shown = page.getByTestId('new-token');
    await expect(shown).toContainText('app token for demo (shown once): ');
    const token = /\(shown once\): (\S+)$/.exec((await shown.textContent()) ?? '')?.[1];
    expect(token).toMatch(/^spt_/);
    const row = page.locator('[data-testid="space-row"][data-space-id="demo"]');
    await expect(row).toContainText('Demo space');

    await connectApp('demo', token!);
    // The admin page lists the app's connection on its next refresh (every 2 s).
    await expect(page.getByTestId('connection-row')).toHaveCount(1);
    await expect(page.getByTestId('connection-row')).toContainText('demo');

    await page.goto(`${endpoint()}/s/demo`);
    await expect(page.getByTestId('space-name')).toHaveText('Demo space');
    await expect(page.getByTestId('live-status')).toHaveAttribute('data-live', 'true');
    await expect(page.getByTestId('app-status')).toHaveAttribute('data-connected', 'true');

    const item = await submit(page, 'hello relay');
    await expect(item).toHaveAttribute('data-status', 'completed');
    await expect(item.getByTestId('result-status')).toHaveText('completed');
    await expect(item.getByTestId('result-output')).toHaveText('{"echo":"hello relay"}');
    // JSON input is sent as JSON, and the app's answer shown as JSON.
    const json = await submit(page, '{"n": 2, "tags": ["a"]}');
    await expect(json).toHaveAttribute('data-status', 'completed');
    await expect(json.getByTestId('result-output')).toHaveText('{"echo":{"n":2,"tags":["a"]}}');
    await expect(page.getByTestId('queue-size')).toHaveText('0');
  });

  test('the space page weighs what its HTML, CSS and scripts weigh (a figure)', async ({ browser }) => {
    await createSpace('weight');
    // A fresh context: nothing comes from the cache of another page.
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const bodies: Array<Promise<number>> = [];
      page.on('response', (res) => {
        if (['document', 'stylesheet', 'script'].includes(res.request().resourceType()))
          bodies.push(res.body().then((b) => b.length));
      });
      await page.goto(`${endpoint()}/s/weight`);
      await expect(page.getByTestId('live-status')).toHaveAttribute('data-live', 'true');
      const sizes = await Promise.all(bodies);
      // The page, style.css, space.js and socket.io's client.
      expect(sizes).toHaveLength(4);
      await recordFigure({
        id: 'spaces.ui.space-page.bytes',
        value: sizes.reduce((a, b) => a + b, 0),
        unit: 'B',
        better: 'lower',
        n: 1,
        method:
          'decoded bytes of the document, stylesheets and scripts Chromium loads for /s/<space> in a fresh context',
      });
    } finally {
      await context.close();
    }
  });

  test('the connection indicator turns off when the app is killed, on when an app registers again', async ({
    page,
  }) => {
    const token = await createSpace('flaky');
    const first = await connectApp('flaky', token);
    await page.goto(`${endpoint()}/s/flaky`);
    const status = page.getByTestId('app-status');
    await expect(status).toHaveAttribute('data-connected', 'true');
    await expect(status).toHaveText('connected (1 app)');

    // A crash: the transport drops without a goodbye, and a killed MockApp never reconnects.
    first.kill();
    await expect(status).toHaveAttribute('data-connected', 'false');
    await expect(status).toHaveText('no app connected');
    // A request submitted meanwhile waits in the queue...
    const item = await submit(page, 'while down');
    await expect(item).toHaveAttribute('data-status', 'queued');
    await expect(page.getByTestId('queue-size')).toHaveText('1');

    // ...until the app is back (restarted, registering with the same token), which answers it.
    await connectApp('flaky', token);
    await expect(status).toHaveAttribute('data-connected', 'true');
    await expect(item).toHaveAttribute('data-status', 'completed');
    await expect(item.getByTestId('result-output')).toHaveText('{"echo":"while down"}');
  });

  test('markup in a request is shown as text and never runs', async ({ page }) => {
    const token = await createSpace('markup');
    await connectApp('markup', token);
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const payload =
      '<script>window.__pwned = 1; alert("script")</script><img src=x onerror="window.__pwned = 2">';

    await page.goto(`${endpoint()}/s/markup`);
    await expect(page.getByTestId('app-status')).toHaveAttribute('data-connected', 'true');
    const item = await submit(page, payload);
    await expect(item).toHaveAttribute('data-status', 'completed');
    await expect(item.getByTestId('result-input')).toHaveText(JSON.stringify(payload));
    await expect(item.getByTestId('result-output')).toHaveText(JSON.stringify({ echo: payload }));
    await expect(page.getByTestId('results').locator('script, img')).toHaveCount(0);

    // The same request rendered by the server (/s/<space>?request=<id>) escapes it too.
    const requestId = await item.getAttribute('data-request-id');
    await page.goto(`${endpoint()}/s/markup?request=${requestId}`);
    await expect(page.getByTestId('request-status')).toHaveText('completed');
    await expect(page.getByTestId('request-input')).toHaveText(JSON.stringify(payload, null, 2));
    await expect(page.getByTestId('request-result')).toContainText('<script>window.__pwned = 1;');
    await expect(page.getByTestId('request').locator('script, img')).toHaveCount(0);

    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(dialogs).toEqual([]);
  });
});
