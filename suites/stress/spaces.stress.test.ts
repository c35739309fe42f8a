// The spaces relay under many apps and users: 100 mock apps over 10 spaces and 50 users submitting
// on their own Poisson schedules (smoke: 20 apps, 4 spaces, 10 users) through one relay process.
// Every acknowledged request must complete exactly once with its own result. Figures: connect time
// (dial + register ack), submit-to-result latency (open model, from the intended submit until the
// relay acknowledged the stored result to the app), requests per second through the relay, and a
// reconnect storm: every app connection cut at once, until all apps are registered again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LatencyRecorder,
  openLoop,
  profile,
  progress,
  readRigEnv,
  recordFigure,
  recordLatency,
  recordThroughput,
  useSystem,
} from '../../harness/index.ts';
import { type MockApp, spacesSystem } from '../../systems/spaces/index.ts';
import {
  adminToken,
  CutProxy,
  closeFleet,
  connectFleet,
  exactlyOnce,
  ResultTracker,
  SpacesHttp,
  sleep,
} from '../_helpers/spaces-workload.ts';

const ADMIN = adminToken();
const system = useSystem(spacesSystem, { options: { adminToken: ADMIN } });
const smoke = profile().name === 'smoke';
const APPS = smoke ? 20 : 100;
const SPACES = smoke ? 4 : 10;
const USERS = smoke ? 10 : 50;
/** Submits per second of one user (Poisson arrivals); the relay sees USERS times this. */
const PER_USER_RATE = smoke ? 20 : 10;
/** Each app answers after this long: a short inference. */
const APP_DELAY_MS = 2;
const seed = readRigEnv().RIG_SEED ?? 1;

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

let client: SpacesHttp;
beforeAll(() => {
  client = new SpacesHttp(system().endpoint, ADMIN);
  cleanups.push(() => client.close());
});

async function spaces(prefix: string): Promise<Array<{ id: string; token: string }>> {
  const ids = Array.from({ length: SPACES }, (_, i) => `${prefix}-${i}`);
  return Promise.all(ids.map(async (id) => ({ id, token: await client.createSpace(id) })));
}

/** The open-model run against a connected fleet, its figures and the exactly-once check. */
async function loadFleet(
  all: Array<{ id: string; token: string }>,
  apps: MockApp[],
  tracker: ResultTracker,
  connectTime: LatencyRecorder,
): Promise<void> {
  expect(await client.connections()).toBe(APPS);
  const submitted = new Map<string, unknown>();
  const rate = USERS * PER_USER_RATE;
  const run = await openLoop({
    rate,
    arrival: 'poisson',
    seed,
    durationMs: smoke ? 3_000 : profile().durationMs,
    warmupMs: profile().warmupMs,
    // a user whose requests pile up past this many open ones is dropped (counted: invalid run)
    maxInFlight: USERS * 20,
    label: 'spaces stress submit',
    op: async (i) => {
      const user = i % USERS;
      const space = all[user % SPACES] as { id: string };
      const input = { user, i };
      const id = await client.submit(space.id, input);
      submitted.set(id, input);
      await tracker.stored(id);
    },
  });
  expect(run.errorSamples).toEqual([]);
  const check = await exactlyOnce(client, submitted, tracker);
  progress(`spaces stress: ${submitted.size} requests checked`);

  const how = `${APPS} MockApps (${APP_DELAY_MS} ms per answer, concurrency 1) over ${SPACES} spaces, ${USERS} users each submitting on its own Poisson schedule of ${PER_USER_RATE}/s (${rate}/s in all) over HTTP (kept-alive) to the relay in its own process`;
  await recordLatency('spaces.stress.submit_to_result', run.latency, {
    method: `${how}; open model: from each request's intended submit time until its app got the relay's acknowledgement of the answer, which the relay sends once the result's write committed`,
    ...(run.valid ? {} : { valid: false, invalidReason: run.invalidReason ?? 'invalid run' }),
  });
  await recordThroughput('spaces.stress.requests.rate', run.throughput, {
    unit: 'requests/s',
    method: `${how}: requests completed (result stored) per second through one relay`,
    ...(run.valid ? {} : { valid: false, invalidReason: run.invalidReason ?? 'invalid run' }),
  });
  await recordLatency('spaces.stress.connect', connectTime, {
    method: `${APPS} MockApps dialling the relay (websocket transport), 20 at a time: from the dial until the register ack`,
  });
  const n = submitted.size;
  const method = `${n} acknowledged submits of the open-model run above, each checked by GET /websockets/status and the apps' accepted answers`;
  await recordFigure({
    id: 'spaces.stress.lost.count',
    value: check.lost,
    unit: 'count',
    better: 'lower',
    n,
    method: `${method}: not completed, or completed with another request's result`,
  });
  await recordFigure({
    id: 'spaces.stress.duplicated.count',
    value: check.duplicated,
    unit: 'count',
    better: 'lower',
    n,
    method: `${method}: answers accepted beyond the first`,
  });
  expect(check.problems).toEqual([]);
  expect({ lost: check.lost, duplicated: check.duplicated, redelivered: check.redelivered }).toEqual({
    lost: 0,
    duplicated: 0,
    redelivered: 0,
  });
  expect(run.completed).toBeGreaterThan(0);
  // every app took part, and each space's requests went only to its own apps
  const bySpace = new Map(all.map((s) => [s.id, new Set<string>()]));
  for (const [id, input] of submitted)
    bySpace.get((all[(input as { user: number }).user % SPACES] as { id: string }).id)?.add(id);
  for (const app of apps) {
    const own = bySpace.get(app.options.spaceId) as Set<string>;
    expect(app.seen.filter((id) => !own.has(id))).toEqual([]);
  }
  expect(apps.filter((a) => a.counters.handled === 0).length).toBeLessThan(APPS / 2);
}

describe('spaces stress', () => {
  it(
    `${APPS} apps over ${SPACES} spaces, ${USERS} users: every request completed exactly once`,
    async () => {
      const all = await spaces('load');
      const tracker = new ResultTracker();
      const connectTime = new LatencyRecorder({ unit: 'ms' });
      const apps = await connectFleet({
        url: system().endpoint,
        spaces: all,
        count: APPS,
        parallel: 20,
        tracker,
        connectTime,
        app: { delayMs: APP_DELAY_MS },
        label: 'spaces stress connect',
      });
      try {
        await loadFleet(all, apps, tracker, connectTime);
      } finally {
        await closeFleet(apps);
      }
    },
    profile().testTimeoutMs,
  );

  it(
    `reconnect storm: ${APPS} app connections cut at once, requests in flight, all re-registered and nothing lost`,
    async () => {
      const all = await spaces('storm');
      const proxy = await CutProxy.start(system().endpoint);
      cleanups.push(() => proxy.close());
      const tracker = new ResultTracker();
      // socket.io-client's default backoff (1 s +-50%, up to 5 s): what a real app would do
      const apps: MockApp[] = await connectFleet({
        url: proxy.url,
        spaces: all,
        count: APPS,
        parallel: 20,
        tracker,
        app: { delayMs: 100 },
        label: 'spaces storm connect',
      });
      cleanups.push(() => closeFleet(apps));
      expect(await client.connections()).toBe(APPS);

      // one request in flight on every app, and as many queued behind them
      const submitted = new Map<string, unknown>();
      await Promise.all(
        Array.from({ length: APPS * 2 }, async (_, i) => {
          const input = { storm: i };
          submitted.set(await client.submit((all[i % SPACES] as { id: string }).id, input), input);
        }),
      );
      while (apps.reduce((n, a) => n + a.counters.received, 0) < APPS) await sleep(1);

      const reRegistered = new LatencyRecorder({ unit: 'ms' });
      const t0 = process.hrtime.bigint();
      const back = Promise.all(
        apps.map(
          (app) =>
            new Promise<void>((resolve) =>
              app.once('registered', () => {
                reRegistered.record(Number(process.hrtime.bigint() - t0));
                resolve();
              }),
            ),
        ),
      );
      const cut = proxy.cut();
      await back;
      const stormNs = Number(process.hrtime.bigint() - t0);
      expect(cut).toBe(APPS);
      await Promise.all([...submitted.keys()].map((id) => tracker.stored(id, 30_000)));
      const check = await exactlyOnce(client, submitted, tracker);
      expect(await client.connections()).toBe(APPS);

      const how = `${APPS} MockApps over ${SPACES} spaces behind a TCP proxy, socket.io-client's default backoff (first retry after 1 s +-50%), ${APPS} requests in flight and ${APPS} queued; every proxied connection reset at once`;
      await recordFigure({
        id: 'spaces.stress.reconnect_storm.duration',
        value: stormNs / 1e6,
        unit: 'ms',
        better: 'lower',
        n: APPS,
        method: `${how}: from the reset until the last app had its register acknowledged again`,
      });
      await recordLatency('spaces.stress.reconnect', reRegistered, {
        method: `${how}: per app, from the reset until its new register ack`,
      });
      await recordFigure({
        id: 'spaces.stress.reconnect_storm.lost.count',
        value: check.lost,
        unit: 'count',
        better: 'lower',
        n: submitted.size,
        method: `${how}: acknowledged requests not completed with their own result afterwards`,
      });
      expect(check.problems).toEqual([]);
      expect({ lost: check.lost, duplicated: check.duplicated }).toEqual({ lost: 0, duplicated: 0 });
      // the cut requests were re-dispatched, each answered once
      expect(check.redelivered).toBeGreaterThanOrEqual(1);
    },
    profile().testTimeoutMs,
  );
});
