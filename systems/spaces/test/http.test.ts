// HTTP surface: admin auth, validation and size limits, feature and space toggles, history, the
// HTML pages (escaping) and /metrics.
import { describe, expect, it } from 'vitest';
import { ADMIN, postJson, rawApp, settled, startSpaces, until } from './helpers.ts';

type Body = Record<string, unknown> & { error?: { code: string; message: string } };
const json = async (res: Response) => (await res.json()) as Body;

describe('admin routes', () => {
  it('answer 401 SPACES_UNAUTHORIZED without the admin token, or with a wrong one', async () => {
    const run = await startSpaces();
    const routes: Array<[string, string]> = [
      ['GET', '/admin/spaces'],
      ['POST', '/admin/spaces'],
      ['PATCH', '/admin/spaces/a'],
      ['DELETE', '/admin/spaces/a'],
      ['GET', '/admin/features'],
      ['PATCH', '/admin/features'],
      ['GET', '/admin/connections'],
      ['GET', '/admin/requests'],
    ];
    for (const [method, path] of routes) {
      for (const authorization of [undefined, 'Bearer wrong-token', `Basic ${ADMIN}`, `Bearer ${ADMIN}x`]) {
        const res = await fetch(`${run.url}${path}`, {
          method,
          headers: authorization ? { authorization } : {},
        });
        expect(res.status, `${method} ${path} ${authorization}`).toBe(401);
        expect((await json(res)).error?.code).toBe('SPACES_UNAUTHORIZED');
      }
    }
    expect((await run.admin('GET', '/admin/spaces')).status).toBe(200);
  });

  it('create, rename, disable, rotate the token of, and delete a space', async () => {
    const run = await startSpaces();
    const created = await run.admin('POST', '/admin/spaces', { space_id: 'a', name: 'First' });
    expect(created.status).toBe(201);
    const { app_token } = (await created.json()) as { app_token: string };
    expect(app_token).toMatch(/^spt_[A-Za-z0-9_-]{43}$/);
    expect((await json(await run.admin('POST', '/admin/spaces', { space_id: 'a' }))).error?.code).toBe(
      'SPACES_SPACE_EXISTS',
    );
    // Tokens are stored hashed, never in clear.
    expect(JSON.stringify(run.server.store.spaces())).not.toContain(app_token);

    const app = await rawApp(run.url);
    expect(await app.register('a', app_token)).toMatchObject({ ok: true });
    const patched = await json(
      await run.admin('PATCH', '/admin/spaces/a', { name: 'Renamed', enabled: false }),
    );
    expect(patched).toMatchObject({ space_id: 'a', name: 'Renamed', enabled: false, connections: 1 });
    const refused = await postJson(`${run.url}/websockets/submit`, { space_id: 'a', input: 1 });
    expect(refused.status).toBe(403);
    expect((await json(refused)).error?.code).toBe('SPACES_SPACE_DISABLED');

    const rotated = await json(
      await run.admin('PATCH', '/admin/spaces/a', { rotate_token: true, enabled: true }),
    );
    expect(rotated.app_token).toMatch(/^spt_/);
    await until(() => !app.socket.connected, 'the old token’s connection to drop');
    const again = await rawApp(run.url);
    expect(await again.register('a', app_token)).toMatchObject({ ok: false });
    expect(await again.register('a', rotated.app_token as string)).toMatchObject({ ok: true });

    const id = await run.submit('a', 'x');
    await until(() => again.requests.length === 1, 'the dispatch');
    expect((await run.admin('DELETE', '/admin/spaces/a')).status).toBe(204);
    expect(await run.status(id)).toMatchObject({ status: 'failed', error: { code: 'SPACES_SPACE_DELETED' } });
    expect((await fetch(`${run.url}/spaces/a`)).status).toBe(404);
    expect((await run.admin('DELETE', '/admin/spaces/a')).status).toBe(404);
  });

  it('feature toggles turn off submissions, registrations and the web UI, and persist', async () => {
    const run = await startSpaces();
    const token = await run.space('a');
    const off = await json(
      await run.admin('PATCH', '/admin/features', { submissions: false, registrations: false }),
    );
    expect(off.features).toEqual({ submissions: false, registrations: false, web_ui: true });
    const refused = await postJson(`${run.url}/websockets/submit`, { space_id: 'a', input: 1 });
    expect(refused.status).toBe(403);
    expect((await json(refused)).error?.code).toBe('SPACES_FEATURE_DISABLED');
    const app = await rawApp(run.url);
    expect(await app.register('a', token)).toMatchObject({
      ok: false,
      error: { code: 'SPACES_FEATURE_DISABLED' },
    });
    await run.admin('PATCH', '/admin/features', { web_ui: false });
    expect((await fetch(`${run.url}/s/a`)).status).toBe(403);
    expect((await json(await run.admin('PATCH', '/admin/features', { nope: true }))).error?.code).toBe(
      'SPACES_INVALID_INPUT',
    );
    expect(run.server.store.setting('features')).toBe(
      JSON.stringify({ submissions: false, registrations: false, web_ui: false }),
    );
  });

  it('list connections and a paginated request history, newest first', async () => {
    const run = await startSpaces();
    const token = await run.space('a');
    const app = await run.app('a', token);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await run.submit('a', i));
    await Promise.all(ids.map((id) => settled(run, id, 'completed')));
    const conns = await json(await run.admin('GET', '/admin/connections'));
    expect(conns.connections).toEqual([
      expect.objectContaining({ space_id: 'a', in_flight: 0, handled: 5, concurrency: 1 }),
    ]);
    expect(app.counters.handled).toBe(5);
    const page1 = await json(await run.admin('GET', '/admin/requests?limit=3'));
    const rows1 = page1.requests as Array<{ request_id: string; status: string }>;
    expect(rows1.map((r) => r.request_id)).toEqual(ids.slice(2).reverse());
    expect(rows1.every((r) => r.status === 'completed')).toBe(true);
    const page2 = await json(await run.admin('GET', `/admin/requests?limit=3&cursor=${page1.next_cursor}`));
    expect((page2.requests as Array<{ request_id: string }>).map((r) => r.request_id)).toEqual(
      ids.slice(0, 2).reverse(),
    );
    expect(page2.next_cursor).toBeNull();
    const bad = await run.admin('GET', '/admin/requests?limit=0');
    expect(bad.status).toBe(400);
  });
});

describe('validation and limits', () => {
  it('refuses bad bodies and queries with a coded 4xx', async () => {
    const run = await startSpaces();
    await run.space('a');
    const cases: Array<[Promise<Response>, number, string]> = [
      [postJson(`${run.url}/websockets/submit`, { space_id: 'a' }), 400, 'SPACES_INVALID_INPUT'],
      [
        postJson(`${run.url}/websockets/submit`, { space_id: 'a', input: 1, x: 1 }),
        400,
        'SPACES_INVALID_INPUT',
      ],
      [
        postJson(`${run.url}/websockets/submit`, { space_id: '../etc', input: 1 }),
        400,
        'SPACES_INVALID_INPUT',
      ],
      [postJson(`${run.url}/websockets/submit`, { space_id: 'zz', input: 1 }), 404, 'SPACES_SPACE_NOT_FOUND'],
      [
        fetch(`${run.url}/websockets/submit`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{',
        }),
        400,
        'SPACES_INVALID_INPUT',
      ],
      [
        fetch(`${run.url}/websockets/submit`, {
          method: 'POST',
          headers: { 'content-type': 'text/csv' },
          body: 'a',
        }),
        415,
        'SPACES_UNSUPPORTED_MEDIA_TYPE',
      ],
      [fetch(`${run.url}/websockets/status`), 400, 'SPACES_INVALID_INPUT'],
      [fetch(`${run.url}/websockets/status?request_id=nope`), 404, 'SPACES_REQUEST_NOT_FOUND'],
      [fetch(`${run.url}/nowhere`), 404, 'SPACES_ROUTE_NOT_FOUND'],
    ];
    for (const [pending, status, code] of cases) {
      const res = await pending;
      expect(res.status).toBe(status);
      expect((await json(res)).error?.code).toBe(code);
    }
  });

  it('refuses an HTTP body over maxBodyBytes with 413, storing nothing', async () => {
    const run = await startSpaces({ maxBodyBytes: 2048 });
    await run.space('a');
    const res = await postJson(`${run.url}/websockets/submit`, { space_id: 'a', input: 'x'.repeat(4096) });
    expect(res.status).toBe(413);
    expect((await json(res)).error?.code).toBe('SPACES_PAYLOAD_TOO_LARGE');
    expect(run.server.relay.metrics.submits).toBe(0);
  });

  it('a socket.io message over maxMessageBytes closes that connection; its request is dispatched again', async () => {
    const run = await startSpaces({ maxMessageBytes: 2048 });
    const token = await run.space('a');
    const app = await rawApp(run.url);
    await app.register('a', token);
    const id = await run.submit('a', 'x');
    await until(() => app.requests.length === 1, 'the dispatch');
    const closed = new Promise<string>((resolve) =>
      app.socket.once('disconnect', (reason) => resolve(reason)),
    );
    app.socket.emit('inference_result', { request_id: id, output: 'y'.repeat(8192) });
    expect(await closed).toBe('transport close');
    await until(async () => (await run.status(id)).status === 'queued', 'the re-queue');
  });
});

describe('web pages', () => {
  it('escape user text: a space name and an input holding <script>', async () => {
    const run = await startSpaces();
    await run.space('a', '<script>alert("name")</script>');
    const id = await run.submit('a', '<script>alert("input")</script>');
    const res = await fetch(`${run.url}/s/a?request=${id}`);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;');
    expect(html).toContain('&lt;script&gt;alert(\\&quot;input\\&quot;)&lt;/script&gt;');
    expect(html).toContain('data-testid="app-status" data-connected="false"');
    expect(html).toContain('data-testid="submit-form"');
    expect(html).toContain('<script src="/socket.io/socket.io.js"></script>');
    expect((await fetch(`${run.url}/spaces/a/page`)).status).toBe(200);
  });

  it('serve the admin page, the scripts and the socket.io client', async () => {
    const run = await startSpaces();
    const admin = await (await fetch(`${run.url}/admin`)).text();
    expect(admin).toContain('data-testid="admin-token"');
    for (const p of ['/ui/space.js', '/ui/admin.js', '/ui/style.css', '/socket.io/socket.io.js']) {
      expect((await fetch(`${run.url}${p}`)).status, p).toBe(200);
    }
    expect((await fetch(`${run.url}/ui/nope.js`)).status).toBe(404);
    // The page script writes text only through textContent.
    const script = await (await fetch(`${run.url}/ui/space.js`)).text();
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});

describe('/metrics', () => {
  it('exposes connections, queue depth, dispatch and result counters and the latency histogram', async () => {
    const run = await startSpaces();
    const token = await run.space('a');
    await run.app('a', token);
    await settled(run, await run.submit('a', 1), 'completed');
    await run.space('b');
    await run.submit('b', 1);
    const res = await fetch(`${run.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const line of [
      'spaces_app_connections{space="a"} 1',
      'spaces_queue_depth{space="b"} 1',
      'spaces_submits_total 2',
      'spaces_dispatches_total 1',
      'spaces_results_total{status="completed"} 1',
      'spaces_submit_to_result_seconds_bucket{le="+Inf"} 1',
      'spaces_submit_to_result_seconds_count 1',
      '# TYPE spaces_submit_to_result_seconds histogram',
      '# TYPE spaces_late_results_total counter',
    ]) {
      expect(text).toContain(line);
    }
  });
});
