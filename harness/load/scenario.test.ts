import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isRigError } from '../errors.ts';
import { renderRunHtml } from '../report/html.ts';
import { loadRun } from '../report/run-data.ts';
import { runContext } from '../run/context.ts';
import { runScenario } from './scenario.ts';
import type { ScenarioContext, ScenarioRequestOptions } from './scenario-client.ts';
import { parseScenario, type ScenarioOptions } from './scenario-config.ts';
import { endpointSlugs, recordScenario } from './scenario-record.ts';

// Figures of these tests go to a throwaway run, not the run that is testing the harness.
const runDir = mkdtempSync(path.join(os.tmpdir(), 'rig-scenario-'));
process.env.RIG_RUN_DIR = runDir;
afterAll(() => rmSync(runDir, { recursive: true, force: true }));

interface Hit {
  path: string;
  /** Which connection (one per user: each has its own keep-alive agent). */
  conn: number;
  /** performance.now() when the request arrived: the driver's t0Ms is on the same clock. */
  at: number;
}

/**
 * The synthetic target, whose truth is known: it answers after `delayMs`, counts every request
 * by path and connection, and fails on purpose on `/fail` (503), `/reset` (connection destroyed)
 * and `/missing` (404).
 */
class Target {
  readonly hits: Hit[] = [];
  open = 0;
  private readonly conns = new WeakMap<Socket, number>();
  private nextConn = 0;
  private readonly server: http.Server;
  url = '';

  constructor(private readonly delayMs: number) {
    this.server = http.createServer((req, res) => {
      const conn = this.conns.get(req.socket) ?? -1;
      const url = req.url ?? '/';
      this.hits.push({ path: url, conn, at: performance.now() });
      req.resume();
      if (url === '/reset') return void req.socket.destroy();
      const timer = setTimeout(() => {
        res.statusCode = url === '/fail' ? 503 : url === '/missing' ? 404 : 200;
        res.end(url === '/fail' ? 'overloaded' : 'ok');
      }, this.delayMs);
      res.on('close', () => clearTimeout(timer));
    });
    this.server.on('connection', (socket) => {
      this.conns.set(socket, this.nextConn++);
      this.open++;
      socket.on('close', () => this.open--);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  count(p: string): number {
    return this.hits.filter((h) => h.path === p).length;
  }

  /** Hits that arrived in [fromMs, toMs) on the driver's clock. */
  between(t0: number, fromMs: number, toMs: number): Hit[] {
    return this.hits.filter((h) => h.at >= t0 + fromMs && h.at < t0 + toMs);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const targets: Target[] = [];
async function target(delayMs = 2): Promise<Target> {
  const t = await new Target(delayMs).start();
  targets.push(t);
  return t;
}
afterEach(async () => {
  await Promise.all(targets.splice(0).map((t) => t.close().catch(() => undefined)));
  // Closed sockets leave the handle list a moment later: the next test starts from none.
  for (let i = 0; i < 50 && handles().sockets > 0; i++) await sleep(20);
});

const get = (p: string, options: ScenarioRequestOptions = {}) => ({
  name: p,
  run: (ctx: ScenarioContext) => ctx.http.get(p, options),
});

/** Timers and sockets alive now: the driver must leave these as it found them. */
function handles(): { timers: number; sockets: number } {
  const r = process.getActiveResourcesInfo();
  return {
    timers: r.filter((x) => x === 'Timeout').length,
    sockets: r.filter((x) => x === 'TCPSocketWrap' || x === 'TCPWRAP').length,
  };
}

/** Nothing new left alive (the target's own timers, such as http's Date-header cache, may have ended). */
async function expectNoMoreThan(before: { timers: number; sockets: number }): Promise<void> {
  const more = () => handles().timers > before.timers || handles().sockets > before.sockets;
  for (let i = 0; i < 50 && more(); i++) await sleep(20);
  expect(handles().timers).toBeLessThanOrEqual(before.timers);
  expect(handles().sockets).toBeLessThanOrEqual(before.sockets);
}

describe('runScenario', () => {
  it('picks tasks by weight: counts at the target fit 1:3:6 (chi-square, seeded)', async () => {
    const t = await target(1);
    const r = await runScenario({
      baseUrl: t.url,
      users: [
        {
          name: 'reader',
          thinkTimeS: { min: 0, max: 0 },
          tasks: [
            { ...get('/a'), weight: 1 },
            { ...get('/b'), weight: 3 },
            { ...get('/c'), weight: 6 },
          ],
        },
      ],
      stages: [{ users: 4, spawnRate: 1000, holdS: 1.2 }],
      seed: 7,
    });
    const observed = ['/a', '/b', '/c'].map((p) => t.count(p));
    const n = observed.reduce((a, b) => a + b, 0);
    expect(n).toBeGreaterThan(300);
    const chi2 = [1, 3, 6].reduce(
      (sum, w, i) => sum + (observed[i]! - (n * w) / 10) ** 2 / ((n * w) / 10),
      0,
    );
    // 2 degrees of freedom: P(chi2 > 13.8) = 0.001.
    expect(chi2).toBeLessThan(13.8);
    // The driver's tally is the target's: every request counted once, under its label.
    expect(r.endpoints.map((e) => [e.label, e.requests])).toEqual([
      ['GET /a', observed[0]],
      ['GET /b', observed[1]],
      ['GET /c', observed[2]],
    ]);
    expect(r.overall.requests).toBe(n);
    expect(r.overall.failures).toBe(0);
    expect(r.overall.latency.n).toBe(n);
    expect(r.state).toBe('completed');
    expect(r.valid).toBe(true);
  });

  it('replays the same task sequence per user for the same seed, another for another seed', async () => {
    const t = await target(1);
    const run = async (seed: number) => {
      const picks = new Map<number, string[]>();
      const task = (name: string) => ({
        name,
        run: async (ctx: ScenarioContext) => {
          picks.set(ctx.user.id, [...(picks.get(ctx.user.id) ?? []), name]);
          await ctx.http.get(`/${name}`);
        },
      });
      await runScenario({
        baseUrl: t.url,
        users: [{ name: 'u', thinkTimeS: { min: 0, max: 0 }, tasks: [task('x'), task('y'), task('z')] }],
        stages: [{ users: 2, spawnRate: 1000, holdS: 0.3 }],
        seed,
      });
      return [0, 1].map((id) => (picks.get(id) ?? []).slice(0, 20).join(''));
    };
    const first = await run(3);
    expect(first[0]).toHaveLength(20);
    expect(await run(3)).toEqual(first);
    expect(await run(4)).not.toEqual(first);
  });

  it('reaches each stage’s users, up and down, as the target sees them', async () => {
    const t = await target(5);
    const stages = [
      { users: 3, spawnRate: 50, holdS: 0.6 },
      { users: 6, spawnRate: 50, holdS: 0.6 },
      { users: 2, spawnRate: 50, holdS: 0.6 },
    ];
    const r = await runScenario({
      baseUrl: t.url,
      users: [{ name: 'u', thinkTimeS: { min: 0.02, max: 0.05 }, tasks: [get('/a')] }],
      stages,
      bucketMs: 100,
    });
    expect(r.stages).toHaveLength(3);
    for (const [i, stage] of r.stages.entries()) {
      // Distinct connections (one per user) with a request arriving in the sustained window. The
      // first 100 ms are left out: a stopped user's last request, sent before the window, may be
      // handled in it (the target shares this process's event loop).
      const conns = new Set(t.between(r.t0Ms, stage.holdStartMs + 100, stage.endMs).map((h) => h.conn));
      expect(conns.size, `stage ${i + 1}`).toBe(stages[i]!.users);
      expect(stage.usersReached).toBe(stages[i]!.users);
      // Users whose requests ended in the window: a stopping user finishing its task counts too.
      expect(stage.usersSeen).toBeGreaterThanOrEqual(stages[i]!.users);
      expect(stage.usersSeen).toBeLessThanOrEqual(Math.max(stages[i]!.users, stages[i - 1]?.users ?? 0));
      expect(stage.overall.requests).toBeGreaterThan(0);
      expect(stage.overall.rps).toBeGreaterThan(0);
    }
    // Ramp-up at 50/s: 6 users by the first 3 + 3 more, one every 20 ms.
    expect(r.users.spawned).toBe(6);
    expect(r.users.peak).toBe(6);
    expect(Math.max(...r.series.map((b) => b.users))).toBe(6);
    expect(r.series.at(-1)!.users).toBeLessThanOrEqual(2);
    expect(r.series.reduce((n, b) => n + b.requests, 0)).toBe(r.overall.requests);
    // Every user's connection is closed when it stops.
    for (let i = 0; i < 50 && t.open > 0; i++) await sleep(20);
    expect(t.open).toBe(0);
  });

  it('honours think time: per-user gaps >= its minimum, rate = users / (think + service)', async () => {
    const t = await target(10);
    const users = 10;
    const think = { min: 0.1, max: 0.2 };
    const r = await runScenario({
      baseUrl: t.url,
      users: [{ name: 'u', thinkTimeS: think, tasks: [get('/a')] }],
      stages: [{ users, spawnRate: 1000, holdS: 2 }],
    });
    const byConn = new Map<number, number[]>();
    for (const h of t.hits) byConn.set(h.conn, [...(byConn.get(h.conn) ?? []), h.at]);
    expect(byConn.size).toBe(users);
    const gaps = [...byConn.values()].flatMap((times) => times.slice(1).map((at, i) => at - times[i]!));
    expect(gaps.length).toBeGreaterThan(50);
    // A timer may fire up to 1 ms early on the monotonic clock.
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(think.min * 1000 - 1);
    const stage = r.stages[0]!;
    const holdS = (stage.endMs - stage.holdStartMs) / 1000;
    const atTarget = t.between(r.t0Ms, stage.holdStartMs, stage.endMs).length / holdS;
    const serviceS = r.overall.latency.stats('mean').mean / 1000;
    const expected = users / ((think.min + think.max) / 2 + serviceS);
    // Late timers on a busy machine only lower the rate: the band is wider below.
    expect(atTarget / expected).toBeGreaterThan(0.7);
    expect(atTarget / expected).toBeLessThan(1.15);
    expect(stage.overall.rps / atTarget).toBeGreaterThan(0.8);
    expect(stage.overall.rps / atTarget).toBeLessThan(1.25);
  });

  it('apportions users to classes by weight: a fast-user class of weight 1 in 4 gets 2 of 8', async () => {
    const t = await target(2);
    const r = await runScenario({
      baseUrl: t.url,
      users: [
        { name: 'regular', weight: 3, thinkTimeS: { min: 0.2, max: 0.3 }, tasks: [get('/slow')] },
        { name: 'fast', weight: 1, thinkTimeS: { min: 0, max: 0 }, tasks: [get('/fast')] },
      ],
      stages: [{ users: 8, spawnRate: 1000, holdS: 0.8 }],
    });
    expect(r.stages[0]!.usersByClass).toEqual({ regular: 6, fast: 2 });
    expect(r.users.spawnedByClass).toEqual({ regular: 6, fast: 2 });
    const conns = (p: string) => new Set(t.hits.filter((h) => h.path === p).map((h) => h.conn)).size;
    expect(conns('/slow')).toBe(6);
    expect(conns('/fast')).toBe(2);
    // Per user, the fast class makes many times the requests of a thinking one.
    expect(t.count('/fast') / 2).toBeGreaterThan((5 * t.count('/slow')) / 6);
  });

  it('counts failures by endpoint and kind, keeps the first few messages, never throws', async () => {
    const t = await target(1);
    const r = await runScenario({
      baseUrl: t.url,
      users: [
        {
          name: 'u',
          thinkTimeS: { min: 0.005, max: 0.005 },
          tasks: [
            get('/ok'),
            get('/fail'),
            get('/reset'),
            get('/missing', { ok: (s) => s === 404 }),
            {
              name: 'checked',
              run: (ctx) =>
                ctx.http.get('/ok', {
                  name: 'GET /ok checked',
                  check: (res) => {
                    if (res.text !== 'the answer') throw new Error(`unexpected body ${res.text}`);
                  },
                }),
            },
            {
              name: 'throws',
              run: () => {
                throw new TypeError('no request made');
              },
            },
          ],
        },
      ],
      stages: [{ users: 2, spawnRate: 1000, holdS: 0.6 }],
    });
    const e = Object.fromEntries(r.endpoints.map((x) => [x.label, x]));
    expect(Object.keys(e).sort()).toEqual([
      'GET /fail',
      'GET /missing',
      'GET /ok',
      'GET /ok checked',
      'GET /reset',
      'task:throws',
    ]);
    expect(e['GET /fail']!.requests).toBe(t.count('/fail'));
    expect(e['GET /fail']!.failures).toBe(t.count('/fail'));
    expect(e['GET /fail']!.failureKinds).toEqual({ 'HTTP 503': t.count('/fail') });
    expect(e['GET /fail']!.errorSamples[0]).toContain('HTTP 503 overloaded');
    expect(e['GET /fail']!.errorSamples.length).toBeLessThanOrEqual(5);
    expect(e['GET /reset']!.failures).toBe(t.count('/reset'));
    expect(Object.keys(e['GET /reset']!.failureKinds)).toEqual(['ECONNRESET']);
    expect(e['GET /ok checked']!.failureKinds).toEqual({ CheckError: e['GET /ok checked']!.requests });
    expect(e['GET /ok checked']!.errorSamples[0]).toContain('unexpected body ok');
    expect(e['task:throws']!.failureKinds).toEqual({ TypeError: e['task:throws']!.requests });
    for (const ok of ['GET /ok', 'GET /missing']) {
      expect(e[ok]!.failures, ok).toBe(0);
      expect(e[ok]!.latency.n, ok).toBe(e[ok]!.requests);
    }
    const failures = r.endpoints.reduce((n, x) => n + x.failures, 0);
    expect(r.overall.failures).toBe(failures);
    expect(r.series.reduce((n, b) => n + b.failures, 0)).toBe(failures);
    expect(r.overall.errorSamples.length).toBe(5);
    expect(r.overall.latency.n).toBe(r.overall.requests - failures);
    expect(r.valid).toBe(true);
  });

  it('rejects bad options with RIG_LOAD_INVALID naming the field, before anything starts', async () => {
    const before = handles();
    const good: ScenarioOptions = {
      baseUrl: 'http://127.0.0.1:1',
      users: [{ name: 'u', tasks: [get('/')] }],
      stages: [{ users: 1, spawnRate: 1, holdS: 1 }],
    };
    const cases: Array<[Partial<ScenarioOptions> | Record<string, unknown>, RegExp]> = [
      [{ baseUrl: 'ftp://x' }, /baseUrl: must be an http/],
      [{ stages: [] }, /stages: .*>=1/],
      [{ stages: [{ users: 5, spawnRate: 0, holdS: 1 }] }, /stages\.0\.spawnRate/],
      [{ stages: [{ users: 2.5, spawnRate: 1, holdS: 1 }] }, /stages\.0\.users/],
      [
        { users: [{ name: 'u', thinkTimeS: { min: 3, max: 1 }, tasks: [get('/')] }] },
        /users\.0\.thinkTimeS\.max: max must be >= min/,
      ],
      [{ users: [{ name: 'u', tasks: [] }] }, /users\.0\.tasks/],
      [
        { users: [{ name: 'u', tasks: [{ name: 't', run: 'GET /' }] }] },
        /users\.0\.tasks\.0\.run: must be a function/,
      ],
      [{ users: [{ name: 'u', tasks: [{ ...get('/'), weight: -1 }] }] }, /users\.0\.tasks\.0\.weight/],
      [{ users: [good.users[0]!, good.users[0]!] }, /users: class names must differ/],
      [{ stage: [] }, /unrecognized key/i],
    ];
    for (const [patch, message] of cases) {
      const attempt = runScenario({ ...good, ...patch } as ScenarioOptions);
      await expect(attempt, JSON.stringify(Object.keys(patch))).rejects.toThrow(message);
      const error = await attempt.catch((e: unknown) => e);
      expect(isRigError(error) && error.code).toBe('RIG_LOAD_INVALID');
    }
    expect(Object.isFrozen(parseScenario(good))).toBe(true);
    expect(parseScenario(good).users[0]!.thinkTimeS).toEqual({ min: 1, max: 3 });
    expect(handles()).toEqual(before);
  });

  it('leaves no timer or socket behind when the target dies mid-run', async () => {
    const before = handles();
    const t = await target(5);
    setTimeout(() => void t.close(), 300);
    const r = await runScenario({
      baseUrl: t.url,
      users: [{ name: 'u', thinkTimeS: { min: 0.01, max: 0.02 }, tasks: [get('/a')] }],
      stages: [{ users: 3, spawnRate: 1000, holdS: 0.8 }],
    });
    expect(r.state).toBe('completed');
    expect(r.overall.requests - r.overall.failures).toBeGreaterThan(0);
    expect(r.overall.failures).toBeGreaterThan(0);
    expect(Object.keys(r.overall.failureKinds).every((k) => /^E[A-Z]+$/.test(k))).toBe(true);
    await expectNoMoreThan(before);
  });

  it('stops at once when the caller aborts: in-flight requests abandoned, not counted, nothing left', async () => {
    const before = handles();
    const t = await target(3_000);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 300);
    const started = performance.now();
    const r = await runScenario({
      baseUrl: t.url,
      users: [{ name: 'u', thinkTimeS: { min: 0, max: 0 }, tasks: [get('/slow')] }],
      stages: [{ users: 3, spawnRate: 1000, holdS: 10 }],
      signal: abort.signal,
    });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(r.state).toBe('aborted');
    expect(r.valid).toBe(false);
    expect(r.invalidReason).toMatch(/aborted by the caller/);
    expect(r.overall.requests).toBe(0);
    expect(r.stages).toHaveLength(1);
    for (let i = 0; i < 50 && t.open > 0; i++) await sleep(20);
    expect(t.open).toBe(0);
    await t.close();
    targets.length = 0;
    await expectNoMoreThan(before);
  });

  it('abandons a task that ignores the stop after the graceful window, and says so', async () => {
    const t = await target(1);
    const started = performance.now();
    const r = await runScenario({
      baseUrl: t.url,
      users: [{ name: 'u', tasks: [{ name: 'hang', run: () => new Promise(() => undefined) }] }],
      stages: [{ users: 1, spawnRate: 1000, holdS: 0.1 }],
      gracefulStopMs: 100,
    });
    expect(r.users.abandoned).toBe(1);
    expect(performance.now() - started).toBeLessThan(2_500);
  });
});

describe('recordScenario', () => {
  it('slugs endpoint labels into figure ids, the method only where paths collide', () => {
    const slugs = endpointSlugs([
      'GET /health',
      'POST /v1/chat/completions',
      'GET /items/:id',
      'POST /items/:id',
      'GET /',
      'task:chat',
    ]);
    expect([...slugs.values()]).toEqual([
      'health',
      'v1-chat-completions',
      'get-items-id',
      'post-items-id',
      'root',
      'task-chat',
    ]);
  });

  it('records overall, per-endpoint and per-stage figures, with the time series drawn as one chart', async () => {
    const t = await target(1);
    const r = await runScenario({
      baseUrl: t.url,
      users: [{ name: 'u', thinkTimeS: { min: 0, max: 0.005 }, tasks: [get('/health'), get('/fail')] }],
      stages: [
        { users: 2, spawnRate: 1000, holdS: 0.4 },
        { users: 3, spawnRate: 1000, holdS: 0.4 },
      ],
      bucketMs: 100,
    });
    const figures = await recordScenario('demo.scenario', r, { method: 'unit test' });
    const byId = new Map(figures.map((f) => [f.id, f]));
    for (const id of [
      'demo.scenario.success_rate',
      'demo.scenario.requests',
      'demo.scenario.p95',
      'demo.scenario.throughput',
      'demo.scenario.users.max',
      'demo.scenario.failures',
      'demo.scenario.health.mean',
      'demo.scenario.health.error_rate',
      'demo.scenario.fail.error_rate',
      'demo.scenario.stage1.p99',
      'demo.scenario.stage2.success_rate',
      'demo.scenario.stage2.users',
      'demo.scenario.stage2.throughput',
    ]) {
      expect(byId.has(id), id).toBe(true);
    }
    const value = (id: string) => byId.get(id)!.value;
    expect(value('demo.scenario.requests')).toBe(r.overall.requests);
    expect(value('demo.scenario.fail.error_rate')).toBe(100);
    expect(value('demo.scenario.health.error_rate')).toBe(0);
    expect(value('demo.scenario.success_rate')).toBeCloseTo((100 * t.count('/health')) / t.hits.length, 6);
    expect(value('demo.scenario.stage2.users')).toBe(3);
    expect(byId.get('demo.scenario.fail.error_rate')!.method).toContain('HTTP 503');
    const timeline = figures.filter((f) => f.labels?.chart === 'demo.scenario over time');
    expect(timeline.map((f) => f.labels?.series).sort()).toEqual([
      'active users',
      'failures',
      'p95 (ms)',
      'requests/s',
    ]);
    for (const f of timeline) expect(f.series!.length).toBeGreaterThan(3);

    // The HTML report draws the four as one chart with a line each.
    writeFileSync(
      path.join(runDir, 'run.json'),
      JSON.stringify({
        runId: 'scenario',
        profile: 'smoke',
        startedAt: '',
        argv: [],
        files: [],
        environment: {},
      }),
    );
    const html = renderRunHtml(loadRun(runContext().dir));
    const charts = JSON.parse(/id="rig-charts">(.*?)<\/script>/s.exec(html)![1]!) as Array<{
      title: string;
      kind: string;
      datasets?: unknown[];
    }>;
    const over = charts.find((c) => c.title === 'demo.scenario over time');
    expect(over?.kind).toBe('multi');
    expect(over?.datasets).toHaveLength(4);
    expect(charts.find((c) => c.title === 'demo.scenario requests/s by endpoint')?.datasets).toHaveLength(2);
    expect(readFileSync(runContext().figuresFile, 'utf8').split('\n').length).toBeGreaterThan(figures.length);
  });
});
