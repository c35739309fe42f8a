// What happens when things go wrong: apps that drop mid-request, late answers, timeouts, full
// queues, and a restart on the same database.
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MockApp } from '../mock-app.ts';
import { onCleanup, postJson, rawApp, settled, startSpaces, tempDir, until } from './helpers.ts';

describe('an app that disconnects mid-request', () => {
  it('gets its requests re-queued at the front and dispatched again; exactly one result is stored', async () => {
    const run = await startSpaces();
    const token = await run.space('a');
    const first = await rawApp(run.url);
    await first.register('a', token);
    const held = await run.submit('a', 'held');
    const next = await run.submit('a', 'next');
    await until(() => first.requests.length === 1, 'the first dispatch');
    expect(first.requests[0]?.request_id).toBe(held);
    first.socket.disconnect();
    await until(async () => (await run.status(held)).status === 'queued', 're-queue');
    expect(await run.status(held)).toMatchObject({ queue_position: 0, attempts: 1 });
    const second = await run.app('a', token);
    await Promise.all([held, next].map((id) => settled(run, id, 'completed')));
    expect(second.seen).toEqual([held, next]);
    expect(await run.status(held)).toMatchObject({
      status: 'completed',
      attempts: 2,
      result: { echo: 'held' },
    });
    expect(run.server.relay.metrics.redispatches).toBe(1);
  });

  it('MockApp.kill() drops the connection without a goodbye; the request goes to the survivor', async () => {
    const run = await startSpaces();
    const token = await run.space('a');
    const victim = await run.app('a', token, { delayMs: 60_000 });
    const id = await run.submit('a', 1);
    await until(() => victim.counters.received === 1, 'the dispatch to the victim');
    const survivor = await run.app('a', token);
    victim.kill();
    expect(await settled(run, id)).toMatchObject({ status: 'completed', attempts: 2 });
    expect(survivor.seen).toEqual([id]);
  });

  it('a late answer for an attempt that is no longer current is refused (SPACES_LATE_RESULT)', async () => {
    const run = await startSpaces();
    const token = await run.space('a');
    const a1 = await rawApp(run.url);
    await a1.register('a', token);
    const id = await run.submit('a', 'x');
    await until(() => a1.requests.length === 1, 'attempt 1');
    a1.socket.disconnect();
    const b = await rawApp(run.url);
    await b.register('a', token);
    await until(() => b.requests.length === 1, 'attempt 2');
    expect(b.requests[0]).toMatchObject({ request_id: id, attempt: 2 });
    // The first app comes back on a new connection with its old answer.
    const a2 = await rawApp(run.url);
    await a2.register('a', token);
    expect(await a2.result({ request_id: id, output: 'stale', attempt: 1 })).toMatchObject({
      ok: false,
      error: { code: 'SPACES_LATE_RESULT' },
    });
    expect(await a2.result({ request_id: id, output: 'stale' })).toMatchObject({
      ok: false,
      error: { code: 'SPACES_LATE_RESULT' },
    });
    expect(await b.result({ request_id: id, output: 'fresh', attempt: 2 })).toEqual({ ok: true });
    expect(await a2.result({ request_id: id, output: 'stale', attempt: 1 })).toMatchObject({
      ok: false,
      error: { code: 'SPACES_LATE_RESULT' },
    });
    expect(await run.status(id)).toMatchObject({ status: 'completed', result: 'fresh', attempts: 2 });
    expect(run.server.relay.metrics.lateResults).toBe(3);
  });

  it('a request dropped maxAttempts times fails with SPACES_ATTEMPTS_EXHAUSTED', async () => {
    const run = await startSpaces({ maxAttempts: 2 });
    const token = await run.space('a');
    const id = await run.submit('a', 'poison');
    for (let i = 0; i < 2; i++) {
      const app = await rawApp(run.url);
      await app.register('a', token);
      await until(() => app.requests.length === 1, `attempt ${i + 1}`);
      app.socket.disconnect();
    }
    expect(await settled(run, id)).toMatchObject({
      status: 'failed',
      attempts: 2,
      error: { code: 'SPACES_ATTEMPTS_EXHAUSTED' },
    });
  });
});

describe('timeouts', () => {
  it('end a dispatched request with status timeout exactly once; its app is told and its answer refused', async () => {
    const run = await startSpaces({ requestTimeoutMs: 200 });
    const token = await run.space('a');
    const app = await rawApp(run.url);
    await app.register('a', token);
    const id = await run.submit('a', 'slow');
    await until(() => app.requests.length === 1, 'the dispatch');
    const done = await settled(run, id);
    expect(done).toMatchObject({ status: 'timeout', error: { code: 'SPACES_REQUEST_TIMEOUT' } });
    await until(() => app.cancels.length === 1, 'inference_cancel');
    expect(app.cancels[0]).toEqual({ request_id: id, reason: 'timeout' });
    expect(await app.result({ request_id: id, output: 'too late', attempt: 1 })).toMatchObject({
      ok: false,
      error: { code: 'SPACES_LATE_RESULT' },
    });
    expect(await run.status(id)).toEqual(done);
    expect(run.server.relay.metrics.finished.get('timeout')).toBe(1);
    expect(run.server.relay.metrics.finished.get('completed')).toBeUndefined();
    // The slot is free again: the next request is dispatched to the same app.
    const next = await run.submit('a', 'next');
    await until(() => app.requests.length === 2, 'the next dispatch');
    expect(app.requests[1]?.request_id).toBe(next);
  });

  it('also end requests that are still queued', async () => {
    const run = await startSpaces({ requestTimeoutMs: 100 });
    await run.space('a');
    const id = await run.submit('a', 'nobody home');
    expect(await settled(run, id)).toMatchObject({ status: 'timeout', attempts: 0 });
    expect((await (await fetch(`${run.url}/spaces/a`)).json()) as object).toMatchObject({ queue_size: 0 });
  });
});

describe('queue limit', () => {
  it('answers 429 SPACES_QUEUE_FULL with Retry-After once a space holds maxQueuePerSpace requests', async () => {
    const run = await startSpaces({ maxQueuePerSpace: 2, queueFullRetryAfterS: 3 });
    await run.space('a');
    await run.submit('a', 1);
    await run.submit('a', 2);
    const res = await postJson(`${run.url}/websockets/submit`, { space_id: 'a', input: 3 });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('SPACES_QUEUE_FULL');
    // Another space is not affected.
    await run.space('b');
    await run.submit('b', 1);
  });
});

describe('restart on the same database', () => {
  it('keeps spaces and results, and resumes queued and in-flight requests in order', async () => {
    const dbPath = `${await tempDir()}/spaces.db`;
    const first = await startSpaces({ dbPath });
    const token = await first.space('a', 'Space A');
    const app = await first.app('a', token);
    const done = await first.submit('a', 'done before');
    await settled(first, done, 'completed');
    await app.close();
    const open = [await first.submit('a', 1), await first.submit('a', 2), await first.submit('a', 3)];
    await first.close();

    // As if the process had died with the first request in flight.
    const db = new Database(dbPath);
    db.prepare("UPDATE requests SET status = 'dispatched', attempts = 1 WHERE request_id = ?").run(open[0]);
    db.close();

    const second = await startSpaces({ dbPath });
    expect(second.server.resumed).toBe(3);
    expect(await second.status(done)).toMatchObject({ status: 'completed', result: { echo: 'done before' } });
    expect(await second.status(open[0] as string)).toMatchObject({ status: 'queued', queue_position: 0 });
    const again = new MockApp({ url: second.url, spaceId: 'a', token, reconnectionDelayMs: 50 });
    onCleanup(() => again.close());
    await again.connect();
    await Promise.all(open.map((id) => settled(second, id, 'completed')));
    expect(again.seen).toEqual(open);
    expect(await second.status(open[0] as string)).toMatchObject({ attempts: 2 });
    expect(((await (await fetch(`${second.url}/spaces/a`)).json()) as { name: string }).name).toBe('Space A');
  });

  it('times out resumed requests whose deadline passed while the server was down', async () => {
    const dbPath = `${await tempDir()}/spaces.db`;
    const first = await startSpaces({ dbPath, requestTimeoutMs: 10_000 });
    await first.space('a');
    const id = await first.submit('a', 1);
    await first.close();
    const db = new Database(dbPath);
    db.prepare('UPDATE requests SET created_at = created_at - 60000 WHERE request_id = ?').run(id);
    db.close();
    const second = await startSpaces({ dbPath, requestTimeoutMs: 10_000 });
    expect(await settled(second, id)).toMatchObject({ status: 'timeout' });
  });
});
