// The relay's core behaviour over real sockets: registration, the request life cycle, FIFO order,
// load sharing and isolation between spaces.
import { describe, expect, it } from 'vitest';
import { rawApp, settled, startSpaces, until } from './helpers.ts';

describe('register', () => {
  it('acks ok with the right token, and refuses a wrong one or another space’s token', async () => {
    const run = await startSpaces();
    const tokenA = await run.space('a');
    const tokenB = await run.space('b');
    const app = await rawApp(run.url);
    expect(await app.register('a', 'spt_wrong')).toEqual({
      ok: false,
      error: { code: 'SPACES_UNAUTHORIZED', message: expect.stringContaining('"a"') },
    });
    expect(await app.register('a', tokenB)).toMatchObject({
      ok: false,
      error: { code: 'SPACES_UNAUTHORIZED' },
    });
    expect(await app.register('nope', tokenA)).toMatchObject({
      ok: false,
      error: { code: 'SPACES_UNAUTHORIZED' },
    });
    expect(await app.register('a', tokenA)).toMatchObject({ ok: true, concurrency: 1 });
    // Registering again for the same space is idempotent; for another one it is refused.
    expect(await app.register('a', tokenA)).toMatchObject({ ok: true });
    expect(await app.register('b', tokenB)).toMatchObject({
      ok: false,
      error: { code: 'SPACES_INVALID_INPUT' },
    });
    const info = (await (await fetch(`${run.url}/spaces/a`)).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ space_id: 'a', connections: 1, queue_size: 0, enabled: true });
  });

  it('validates the payload and refuses results before registering', async () => {
    const run = await startSpaces();
    await run.space('a');
    const app = await rawApp(run.url);
    expect(await app.register('a', '')).toMatchObject({ ok: false, error: { code: 'SPACES_INVALID_INPUT' } });
    expect(
      await app.socket.timeout(5000).emitWithAck('register', { space_id: 'a', token: 'x', extra: 1 }),
    ).toMatchObject({
      ok: false,
      error: { code: 'SPACES_INVALID_INPUT', message: expect.stringContaining('extra') },
    });
    expect(await app.result({ request_id: 'r', output: 1 })).toMatchObject({
      ok: false,
      error: { code: 'SPACES_NOT_REGISTERED' },
    });
    expect(await app.result({ request_id: 'r' })).toMatchObject({
      ok: false,
      error: { code: 'SPACES_INVALID_INPUT' },
    });
  });
});

describe('requests', () => {
  it('go queued -> dispatched -> completed, and the result is stored', async () => {
    const run = await startSpaces();
    const token = await run.space('a');
    const id = await run.submit('a', { prompt: 'hi' });
    expect(await run.status(id)).toMatchObject({
      request_id: id,
      status: 'queued',
      queue_position: 0,
      attempts: 0,
    });
    const app = await rawApp(run.url);
    await app.register('a', token);
    await until(() => app.requests.length === 1, 'the dispatch');
    expect(app.requests[0]).toEqual({ request_id: id, input: { prompt: 'hi' }, attempt: 1 });
    expect(await run.status(id)).toMatchObject({ status: 'dispatched', queue_position: null, attempts: 1 });
    expect(await app.result({ request_id: id, output: { text: 'hello' }, attempt: 1 })).toEqual({ ok: true });
    expect(await run.status(id)).toMatchObject({
      status: 'completed',
      result: { text: 'hello' },
      attempts: 1,
    });
    // Idempotent by request id: the same answer again is acknowledged as a duplicate, nothing changes.
    expect(await app.result({ request_id: id, output: { text: 'other' }, attempt: 1 })).toEqual({
      ok: true,
      duplicate: true,
    });
    expect(await run.status(id)).toMatchObject({ status: 'completed', result: { text: 'hello' } });
  });

  it('store an app error as status failed', async () => {
    const run = await startSpaces();
    const token = await run.space('a');
    const app = await run.app('a', token, { failRate: 1 });
    const id = await run.submit('a', 'x');
    expect(await settled(run, id)).toMatchObject({
      status: 'failed',
      error: { code: 'SPACES_APP_ERROR', message: 'failRate', app_code: 'MOCK_FAILURE' },
    });
    expect(app.counters).toMatchObject({ handled: 1, failed: 1 });
  });

  it('a MockApp echoes the input', async () => {
    const run = await startSpaces();
    const token = await run.space('a');
    await run.app('a', token);
    const id = await run.submit('a', [1, 'two', { three: 3 }]);
    expect(await settled(run, id)).toMatchObject({
      status: 'completed',
      result: { echo: [1, 'two', { three: 3 }] },
    });
  });

  it('are dispatched in submit order within a space (FIFO)', async () => {
    const run = await startSpaces();
    const token = await run.space('a');
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await run.submit('a', i));
    const positions = await Promise.all(ids.map(async (id) => (await run.status(id)).queue_position));
    expect(positions).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const app = await run.app('a', token);
    await until(() => app.counters.handled === 8, 'all answers');
    expect(app.seen).toEqual(ids);
  });

  it('two apps on one space share the load; each request goes to exactly one of them', async () => {
    const run = await startSpaces();
    const token = await run.space('a');
    const one = await run.app('a', token, { delayMs: 5 });
    const two = await run.app('a', token, { delayMs: 5 });
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => run.submit('a', i)));
    await Promise.all(ids.map((id) => settled(run, id, 'completed')));
    expect(one.counters.received + two.counters.received).toBe(30);
    expect(one.seen.filter((id) => two.seen.includes(id))).toEqual([]);
    expect([...one.seen, ...two.seen].sort()).toEqual([...ids].sort());
    expect(one.counters.handled).toBeGreaterThan(0);
    expect(two.counters.handled).toBeGreaterThan(0);
  });

  it('respects the concurrency an app declares', async () => {
    const run = await startSpaces({ maxInFlightPerApp: 2 });
    const token = await run.space('a');
    const app = await rawApp(run.url);
    expect(await app.register('a', token, 5)).toMatchObject({ ok: true, concurrency: 2 });
    const ids = await Promise.all([1, 2, 3].map((i) => run.submit('a', i)));
    await until(() => app.requests.length === 2, 'two dispatches');
    expect((await run.status(ids[2] as string)).status).toBe('queued');
    await app.result({ request_id: ids[0], output: 1 });
    await until(() => app.requests.length === 3, 'the third dispatch');
  });

  it('an app of space A never receives requests of space B', async () => {
    const run = await startSpaces();
    const tokenA = await run.space('a');
    const tokenB = await run.space('b');
    const appA = await run.app('a', tokenA);
    const idsB = await Promise.all([1, 2, 3].map((i) => run.submit('b', i)));
    const idA = await run.submit('a', 'mine');
    await settled(run, idA, 'completed');
    expect(appA.seen).toEqual([idA]);
    for (const id of idsB) expect((await run.status(id)).status).toBe('queued');
    const appB = await run.app('b', tokenB);
    await Promise.all(idsB.map((id) => settled(run, id, 'completed')));
    expect(appB.seen).toEqual(idsB);
    expect(appA.seen).toEqual([idA]);
  });
});
