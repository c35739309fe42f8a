// The spaces relay's benchmarks (bench and nightly profiles), against its issue's targets: submit-to-
// result latency with a zero-delay app on loopback (p50 <= 2 ms, p99 <= 10 ms), requests per second
// through one relay (>= 5 000/s) and 1 000 connected apps held. The same-run reference is the floor
// of that path on this machine: a bare node:http + socket.io server in its own process that answers
// the submit and hands the job to one socket.io client, whose answer it acknowledges at once (no
// queue, no SQLite, no validation), driven by the same client code. Behaviour is asserted (every
// request completed exactly once, every app held and served); every timing is a figure.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  closedLoop,
  LatencyRecorder,
  type LoadResult,
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
  closeFleet,
  connectFleet,
  exactlyOnce,
  mapLimit,
  ResultTracker,
  SpacesHttp,
  sleep,
} from '../_helpers/spaces-workload.ts';

const ADMIN = adminToken();
const system = useSystem(spacesSystem, {
  options: { adminToken: ADMIN, maxQueuePerSpace: 1_000_000, maxInFlightPerApp: 256 },
});
const seed = readRigEnv().RIG_SEED ?? 1;
/** Arrivals per second of the latency runs: well below capacity, so queueing stays out of it. */
const LATENCY_RATE = 500;
/** Submitters in flight at once in the throughput runs. */
const SUBMITTERS = 64;
const HELD_APPS = 1_000;

const cleanups: Array<() => Promise<void> | void> = [];
let client: SpacesHttp;
let floor: Floor;
beforeAll(async () => {
  client = new SpacesHttp(system().endpoint, ADMIN, SUBMITTERS);
  cleanups.push(() => client.close());
  floor = await Floor.start();
  cleanups.push(() => floor.stop());
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});
/** Each test's apps, closed after it: the held-apps count is of its own apps only. */
const fleets: MockApp[][] = [];
afterEach(async () => {
  for (const apps of fleets.splice(0)) await closeFleet(apps);
});

/** The bare floor server in a child process, and its one socket.io client in this one. */
class Floor {
  readonly tracker = new ResultTracker();
  readonly http: SpacesHttp;

  private constructor(
    private readonly child: ChildProcess,
    private readonly socket: Socket,
    url: string,
  ) {
    this.http = new SpacesHttp(url, '', SUBMITTERS);
  }

  static async start(): Promise<Floor> {
    const script = fileURLToPath(new URL('../_helpers/spaces-floor-server.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), script], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('floor server not listening after 20000 ms')),
          20_000,
        );
        let out = '';
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (\d+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
        child.once('exit', (code) => reject(new Error(`floor server exited (${code}) before listening`)));
      });
      const url = `http://127.0.0.1:${port}`;
      const socket = ioClient(url, { transports: ['websocket'], forceNew: true, reconnection: false });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      const f = new Floor(child, socket, url);
      socket.on('job', (msg: { request_id: string; input: unknown }) => {
        socket.emit('done', { request_id: msg.request_id, output: { echo: msg.input } }, () =>
          f.tracker.note(msg.request_id),
        );
      });
      return f;
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
  }

  async submitAndWait(input: unknown): Promise<void> {
    const a = await this.http.request<{ request_id: string }>('POST', '/submit', { input });
    if (a.status !== 200) throw new Error(`floor submit: ${a.status}`);
    await this.tracker.stored(a.body.request_id);
  }

  async stop(): Promise<void> {
    this.socket.disconnect();
    this.http.close();
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }
}

const invalid = (run: LoadResult) =>
  run.valid ? {} : { valid: false as const, invalidReason: run.invalidReason ?? 'invalid run' };

describe('spaces benchmarks', () => {
  it(
    'submit-to-result latency, zero-delay app on loopback, vs the bare floor',
    async () => {
      const token = await client.createSpace('latency');
      const tracker = new ResultTracker();
      const apps = await connectFleet({
        url: system().endpoint,
        spaces: [{ id: 'latency', token }],
        count: 1,
        parallel: 1,
        tracker,
        app: { delayMs: 0, concurrency: 64 },
      });
      fleets.push(apps);
      const submitted = new Map<string, unknown>();
      const durationMs = profile().durationMs;
      const relay = await openLoop({
        rate: LATENCY_RATE,
        durationMs,
        warmupMs: profile().warmupMs,
        seed,
        label: 'spaces bench latency',
        op: async (i) => {
          const input = { i };
          const id = await client.submit('latency', input);
          submitted.set(id, input);
          await tracker.stored(id);
        },
      });
      const bare = await openLoop({
        rate: LATENCY_RATE,
        durationMs,
        warmupMs: profile().warmupMs,
        seed,
        label: 'spaces bench floor latency',
        op: (i) => floor.submitAndWait({ i }),
      });
      expect(relay.errorSamples).toEqual([]);
      expect(bare.errorSamples).toEqual([]);
      const check = await exactlyOnce(client, submitted, tracker);
      expect(check.problems).toEqual([]);
      expect({ lost: check.lost, duplicated: check.duplicated }).toEqual({ lost: 0, duplicated: 0 });

      const how = `open model, ${LATENCY_RATE} submits/s at constant spacing for ${durationMs} ms after ${profile().warmupMs} ms of warm-up, HTTP POST over kept-alive node:http connections; latency from each submit's intended start`;
      await recordLatency('spaces.ref.bare_floor.submit_to_result', bare.latency, {
        method: `the floor: a bare node:http + socket.io server in its own process answers the POST at once and emits the job to one socket.io client in this process, which answers; until that answer's ack; ${how}`,
        ...invalid(bare),
      });
      await recordLatency('spaces.bench.submit_to_result', relay.latency, {
        method: `the relay in its own process (SQLite WAL, synchronous=normal), one MockApp in this process answering at once (concurrency 64); until the app got the relay's ack of its answer, sent after the result's write committed; ${how}; reference: the bare floor, run right after`,
        referenceRecorder: { prefix: 'spaces.ref.bare_floor.submit_to_result', recorder: bare.latency },
        ...invalid(relay),
      });
    },
    profile().testTimeoutMs,
  );

  it(
    `requests per second through one relay, ${SUBMITTERS} submitters, vs the bare floor`,
    async () => {
      const ids = ['rate-0', 'rate-1'];
      const spaces = await Promise.all(ids.map(async (id) => ({ id, token: await client.createSpace(id) })));
      const tracker = new ResultTracker();
      const apps = await connectFleet({
        url: system().endpoint,
        spaces,
        count: 4,
        parallel: 4,
        tracker,
        app: { delayMs: 0, concurrency: 64 },
      });
      fleets.push(apps);
      const submitted = new Map<string, unknown>();
      const common = {
        concurrency: SUBMITTERS,
        durationMs: profile().durationMs,
        warmupMs: profile().warmupMs,
        unit: 'ms' as const,
      };
      const relay = await closedLoop({
        ...common,
        label: 'spaces bench rate',
        op: async (i, w) => {
          const input = { i, w };
          const id = await client.submit(ids[w % ids.length] as string, input);
          submitted.set(id, input);
          await tracker.stored(id);
        },
      });
      const bare = await closedLoop({
        ...common,
        label: 'spaces bench floor rate',
        op: (i, w) => floor.submitAndWait({ i, w }),
      });
      expect(relay.errorSamples).toEqual([]);
      expect(bare.errorSamples).toEqual([]);
      progress(`spaces bench rate: checking ${submitted.size} requests`);
      const check = await exactlyOnce(client, submitted, tracker);
      expect(check.problems).toEqual([]);
      expect({ lost: check.lost, duplicated: check.duplicated }).toEqual({ lost: 0, duplicated: 0 });

      const how = `closed model, ${SUBMITTERS} submitters each submitting over kept-alive node:http and awaiting the result before the next, ${profile().durationMs} ms after ${profile().warmupMs} ms of warm-up; the load generator and the apps share this process, so the floor's rate is also this client's ceiling: a relay rate near it is bound by the client, not the relay`;
      const ref = await recordThroughput('spaces.ref.bare_floor.requests.rate', bare.throughput, {
        unit: 'requests/s',
        method: `the bare floor (node:http + socket.io, one client answering, no queue or store): jobs answered and acknowledged per second; ${how}`,
        ...invalid(bare),
      });
      await recordThroughput('spaces.bench.requests.rate', relay.throughput, {
        unit: 'requests/s',
        method: `one relay process (SQLite WAL, synchronous=normal), 4 zero-delay MockApps (concurrency 64) over 2 spaces: results stored per second; ${how}; reference: the bare floor, run right after`,
        reference: { id: ref.id, value: ref.value },
        ...invalid(relay),
      });
    },
    profile().testTimeoutMs,
  );

  it(
    `${HELD_APPS} connected apps held, and each one served`,
    async () => {
      const SPACES = 10;
      const spaces = await Promise.all(
        Array.from({ length: SPACES }, async (_, i) => ({
          id: `held-${i}`,
          token: await client.createSpace(`held-${i}`),
        })),
      );
      const tracker = new ResultTracker();
      const connectTime = new LatencyRecorder({ unit: 'ms' });
      const t0 = performance.now();
      const apps = await connectFleet({
        url: system().endpoint,
        spaces,
        count: HELD_APPS,
        parallel: 50,
        tracker,
        connectTime,
        app: { delayMs: 0 },
        label: 'spaces bench held apps',
      });
      fleets.push(apps);
      const allMs = performance.now() - t0;
      // held: still registered after a pause, then every app serves one request
      await sleep(Math.min(5_000, profile().durationMs));
      const held = await client.connections();
      const submitted = new Map<string, unknown>();
      await mapLimit(
        Array.from({ length: HELD_APPS }, (_, i) => i),
        SUBMITTERS,
        async (i) => {
          const input = { held: i };
          const id = await client.submit((spaces[i % SPACES] as { id: string }).id, input);
          submitted.set(id, input);
          await tracker.stored(id);
        },
      );
      const check = await exactlyOnce(client, submitted, tracker);
      const served = apps.filter((a) => a.counters.handled > 0).length;

      const how = `${HELD_APPS} MockApps in this process (websocket transport) over ${SPACES} spaces of one relay process, dialled 50 at a time`;
      await recordFigure({
        id: 'spaces.bench.apps.held',
        value: held,
        unit: 'apps',
        better: 'higher',
        n: HELD_APPS,
        method: `${how}: connections the relay lists (GET /admin/connections) after all registered and a pause; all of them connected in ${Math.round(allMs)} ms`,
      });
      await recordLatency('spaces.bench.connect', connectTime, {
        method: `${how}: per app, from the dial until the register ack`,
      });
      expect(held).toBe(HELD_APPS);
      expect(check.problems).toEqual([]);
      expect({ lost: check.lost, duplicated: check.duplicated }).toEqual({ lost: 0, duplicated: 0 });
      // round robin with one request each in flight at most: most apps took one
      expect(served).toBeGreaterThan(HELD_APPS / 2);
    },
    profile().testTimeoutMs,
  );
});
