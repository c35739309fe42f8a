// Faults of the spaces relay and its apps. An app killed while it holds requests: they go to
// another app, each stored once. The relay SIGKILLed (profile().kills times) while requests are
// queued and in flight, restarted on the same SQLite file and port: every acknowledged request
// completes, none twice. A stale app connection (a link that went silent) while a second app
// registers with the same space and token: the request moves on once, the stale answer is refused.
// Requests that time out reach `timeout` exactly once. Lost and duplicated counts are figures
// (expected 0 in every profile).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io as ioClient } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  freePort,
  profile,
  progress,
  readRigEnv,
  recordFigure,
  type StartedSystem,
  seededRandom,
  startSystem,
  targetFor,
} from '../../harness/index.ts';
import { MockApp, type RequestView, type SpacesOptions, spacesSystem } from '../../systems/spaces/index.ts';
import {
  adminToken,
  CutProxy,
  exactlyOnce,
  mapLimit,
  ResultTracker,
  rawApp,
  SpacesHttp,
  sleep,
  until,
} from '../_helpers/spaces-workload.ts';

const ADMIN = adminToken();
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
});

/** A relay child process, stopped after the test; `port` keeps the address across restarts. */
async function startRelay(
  options: SpacesOptions = {},
  port?: number,
): Promise<StartedSystem & { endpoint: string }> {
  const sys = await startSystem(spacesSystem, {
    provider: 'process',
    options: { adminToken: ADMIN, ...options },
    ...(port !== undefined ? { port } : {}),
  });
  cleanups.push(() => sys.stop());
  return sys;
}

function client(url: string): SpacesHttp {
  const c = new SpacesHttp(url, ADMIN, 16);
  cleanups.push(() => c.close());
  return c;
}

/** A MockApp closed after the test; fast reconnects (the relay restarts in these tests). */
async function app(url: string, spaceId: string, token: string, o: Partial<MockApp['options']> = {}) {
  const a = new MockApp({ url, spaceId, token, reconnectionDelayMs: 100, reconnectionDelayMaxMs: 500, ...o });
  cleanups.push(() => a.close());
  await a.connect();
  return a;
}

const skip = targetFor('spaces')
  ? 'a --target spaces relay cannot be killed or configured from here'
  : undefined;

describe.skipIf(skip !== undefined)('spaces faults', () => {
  it(`an app killed holding requests (${profile().kills} times): each re-dispatched and stored once`, async () => {
    const relay = await startRelay();
    const c = client(relay.endpoint);
    const token = await c.createSpace('kill');
    const tracker = new ResultTracker();
    tracker.watch(await app(relay.endpoint, 'kill', token, { delayMs: 0 }));
    const submitted = new Map<string, unknown>();
    const moved: string[] = [];
    for (let k = 0; k < profile().kills; k++) {
      // the victim takes work only while it is the least busy app: it answers after 10 s, never
      const victim = tracker.watch(
        await app(relay.endpoint, 'kill', token, { delayMs: 10_000, concurrency: 4 }),
      );
      const ids = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const input = { k, i };
          const id = await c.submit('kill', input);
          submitted.set(id, input);
          return id;
        }),
      );
      await until(() => victim.counters.received > 0, `kill round ${k}: the victim to hold a request`);
      const held = [...victim.seen];
      victim.kill();
      await Promise.all(ids.map((id) => tracker.stored(id, 15_000)));
      moved.push(...held);
      expect(victim.counters.handled).toBe(0);
    }
    const check = await exactlyOnce(c, submitted, tracker);
    const attempts = await mapLimit(moved, 16, async (id) => (await c.status(id)).attempts);
    progress(`spaces fault: ${moved.length} requests moved off ${profile().kills} killed apps`);

    const method = `${profile().kills} rounds: an app holding up to 4 requests (answering after 10 s) is killed (transport dropped, no goodbye) while 8 are submitted; a zero-delay app of the same space stays`;
    await recordFigure({
      id: 'spaces.fault.app_kill.lost.count',
      value: check.lost,
      unit: 'count',
      better: 'lower',
      n: submitted.size,
      method: `${method}: acknowledged requests not completed with their own result`,
    });
    await recordFigure({
      id: 'spaces.fault.app_kill.duplicated.count',
      value: check.duplicated,
      unit: 'count',
      better: 'lower',
      n: submitted.size,
      method: `${method}: answers accepted beyond the first`,
    });
    expect(check.problems).toEqual([]);
    expect({ lost: check.lost, duplicated: check.duplicated }).toEqual({ lost: 0, duplicated: 0 });
    expect(moved.length).toBeGreaterThanOrEqual(profile().kills);
    // a killed app's requests went out again: a second attempt, answered by the survivor
    expect(attempts.every((a) => a === 2)).toBe(true);
  });

  it(`survives ${profile().kills} SIGKILLs with requests queued and in flight: all complete, none twice`, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rig-spaces-crash-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const dbPath = path.join(dir, 'spaces.db');
    const port = await freePort();
    const rand = seededRandom(readRigEnv().RIG_SEED ?? 7);
    let relay = await startRelay({ dbPath }, port);
    const c = client(relay.endpoint);
    const token = await c.createSpace('crash');
    const tracker = new ResultTracker();
    // two apps of 2 slots each, 30 ms per answer: a batch of 40 takes about 300 ms to drain
    for (let i = 0; i < 2; i++)
      tracker.watch(await app(relay.endpoint, 'crash', token, { delayMs: 30, concurrency: 2 }));
    const submitted = new Map<string, unknown>();
    const atKill: string[] = [];
    for (let k = 0; k < profile().kills; k++) {
      await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const input = { k, i };
          submitted.set(await c.submit('crash', input), input);
        }),
      );
      await sleep(20 + rand() * 100);
      const space = (await c.request<{ queue_size: number; in_flight: number }>('GET', '/spaces/crash')).body;
      atKill.push(`${space.queue_size} queued, ${space.in_flight} in flight`);
      if (relay.pid !== undefined) process.kill(relay.pid, 'SIGKILL');
      await relay.stop();
      relay = await startRelay({ dbPath }, port);
      // the apps come back by themselves (socket.io-client backoff) and the queue drains; read by
      // status, since a kill between a result's commit and its ack leaves the app without the ack
      const batch = [...submitted.keys()].slice(-40);
      let open: RequestView[] = [];
      await until(
        async () => {
          open = (await mapLimit(batch, 8, (id) => c.status(id))).filter((v) => v.status !== 'completed');
          return open.length === 0;
        },
        `kill ${k + 1}: the batch to complete after the restart (still open: ${JSON.stringify(open.slice(0, 3))})`,
        30_000,
      ).catch((e: Error) => {
        throw new Error(`${e.message}; still open: ${JSON.stringify(open.slice(0, 3))}`);
      });
      progress(
        `spaces crash: kill ${k + 1}/${profile().kills} (${atKill.at(-1)}), ${submitted.size} requests`,
      );
    }
    const check = await exactlyOnce(c, submitted, tracker, false);
    const method = `${profile().kills} SIGKILLs of the relay process (SQLite WAL, synchronous=normal) 20-120 ms after a batch of 40 submits to one space served by 2 MockApps (2 slots, 30 ms per answer), each followed by a restart on the same database file and port; the apps reconnect by themselves`;
    await recordFigure({
      id: 'spaces.crash.lost.count',
      value: check.lost,
      unit: 'count',
      better: 'lower',
      n: submitted.size,
      method: `${method}: acknowledged submits not completed with their own result afterwards`,
    });
    await recordFigure({
      id: 'spaces.crash.duplicated.count',
      value: check.duplicated,
      unit: 'count',
      better: 'lower',
      n: submitted.size,
      method: `${method}: answers accepted beyond the first`,
    });
    expect(check.problems).toEqual([]);
    expect({ lost: check.lost, duplicated: check.duplicated }).toEqual({ lost: 0, duplicated: 0 });
    // the kills hit requests both waiting and held by apps
    const counts = atKill.map((s) => s.match(/\d+/g)?.map(Number) ?? [0, 0]);
    expect(counts.some(([queued = 0]) => queued > 0)).toBe(true);
    expect(counts.some(([, inFlight = 0]) => inFlight > 0)).toBe(true);
  });

  it('a stale app connection while a second app registers with the same space and token: moved once, the stale answer refused', async () => {
    const relay = await startRelay({ pingIntervalMs: 200, pingTimeoutMs: 300 });
    const c = client(relay.endpoint);
    const token = await c.createSpace('stale');
    const proxy = await CutProxy.start(relay.endpoint);
    cleanups.push(() => proxy.close());
    const first = await rawApp(proxy.url);
    cleanups.push(() => first.close());
    expect((await first.register('stale', token)).ok).toBe(true);
    const id = await c.submit('stale', 'who answers?');
    await until(() => first.requests.length === 1, 'the first app to hold the request');

    // the first app's link goes silent: every byte dropped, the TCP connection left open
    proxy.blackhole();
    const tracker = new ResultTracker();
    const second = tracker.watch(await app(relay.endpoint, 'stale', token, { delayMs: 0 }));
    await tracker.stored(id, 15_000);
    const done = await c.status(id);
    expect(done).toMatchObject({ status: 'completed', attempts: 2, result: { echo: 'who answers?' } });
    expect(second.seen).toEqual([id]);

    // the stale app comes back on a new connection with the same space and token, and answers
    proxy.restore();
    const again = await rawApp(relay.endpoint);
    cleanups.push(() => again.close());
    expect((await again.register('stale', token)).ok).toBe(true);
    const late = await again.result({ request_id: id, attempt: 1, output: 'stale answer' });
    expect(late).toMatchObject({ ok: false, error: { code: 'SPACES_LATE_RESULT' } });
    const after = await c.status(id);
    expect(after).toEqual(done);
    await recordFigure({
      id: 'spaces.fault.stale.duplicated.count',
      value: (tracker.accepted.get(id) ?? 0) - 1 + (late.ok ? 1 : 0),
      unit: 'count',
      better: 'lower',
      n: 1,
      method:
        'an app holding a request goes silent (its link black-holed); a second app registers with the same space and token; after the relay drops the first on its heartbeat (200 ms ping, 300 ms timeout) the first returns on a new connection and answers attempt 1: answers accepted beyond the first',
    });
  });

  it('requests that time out reach `timeout` exactly once, queued and dispatched alike', async () => {
    const relay = await startRelay({ requestTimeoutMs: 600 });
    const c = client(relay.endpoint);
    const token = await c.createSpace('slow');
    const silent = await rawApp(relay.endpoint);
    cleanups.push(() => silent.close());
    expect((await silent.register('slow', token, 2)).ok).toBe(true);
    const viewer = ioClient(`${relay.endpoint}/viewers`, { transports: ['websocket'], forceNew: true });
    cleanups.push(() => viewer.disconnect());
    const updates = new Map<string, RequestView[]>();
    viewer.on('request_update', (v: RequestView) =>
      updates.set(v.request_id, [...(updates.get(v.request_id) ?? []), v]),
    );
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = await c.submit('slow', { i });
      ids.push(id);
      const ack = (await viewer.timeout(5000).emitWithAck('follow', { request_id: id })) as { ok: boolean };
      expect(ack.ok).toBe(true);
    }
    await until(async () => {
      const views = await Promise.all(ids.map((id) => c.status(id)));
      return views.every((v) => v.status === 'timeout');
    }, 'every request to time out');
    // a late answer for a dispatched request is refused and changes nothing
    const held = silent.requests[0]?.request_id as string;
    const late = await silent.result({ request_id: held, attempt: 1, output: 'too late' });
    expect(late).toMatchObject({ ok: false, error: { code: 'SPACES_LATE_RESULT' } });
    await sleep(300); // room for a second terminal update, were one coming
    const terminal = ids.map((id) =>
      (updates.get(id) ?? []).filter((v) => v.status !== 'queued' && v.status !== 'dispatched'),
    );
    const repeated = terminal.reduce((n, t) => n + Math.max(0, t.length - 1), 0);
    await recordFigure({
      id: 'spaces.fault.timeout.repeated.count',
      value: repeated,
      unit: 'count',
      better: 'lower',
      n: ids.length,
      method:
        '5 requests on a space whose one app (2 slots) never answers, requestTimeoutMs 600, each followed on /viewers: terminal request_update events beyond the first, after a late answer and 300 ms more',
    });
    expect(terminal.map((t) => t.map((v) => v.status))).toEqual(ids.map(() => ['timeout']));
    for (const id of ids) {
      const v = await c.status(id);
      expect(v).toMatchObject({ status: 'timeout', error: { code: 'SPACES_REQUEST_TIMEOUT' } });
    }
    // each request the app was given was cancelled there once (a timed-out one frees its slot, so
    // a queued request may reach the app before its own timeout); the first two went at once
    const given = silent.requests.map((r) => r.request_id);
    expect(given.slice(0, 2)).toEqual(ids.slice(0, 2));
    expect(silent.cancels.map((x) => x.request_id).sort()).toEqual([...given].sort());
    expect(silent.cancels.every((x) => x.reason === 'timeout')).toBe(true);
  });
});
