// The spaces relay's workload, shared by its stress, bench, fault and security suites: an HTTP
// client for the public and admin routes (node:http, kept-alive), a tracker that learns when each
// request's result was stored (a MockApp's `answered` event: the relay acknowledges an answer only
// after its write has committed), fleets of mock apps, the exactly-once check, and a TCP proxy
// that can cut or black-hole every app connection at once.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { type Socket as ClientSocket, io as ioClient } from 'socket.io-client';
import { type LatencyRecorder, progress } from '../../harness/index.ts';
import { MockApp, type MockAppOptions, type RequestView } from '../../systems/spaces/index.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** An admin token for a relay a suite starts (the process provider passes it as an option). */
export function adminToken(): string {
  return `rig-spaces-admin-${randomBytes(12).toString('hex')}`;
}

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: http.IncomingHttpHeaders;
}

/** The relay's HTTP routes over one kept-alive agent (fetch costs more per call than the relay). */
export class SpacesHttp {
  readonly agent: http.Agent;

  constructor(
    readonly baseUrl: string,
    readonly admin: string,
    sockets = 64,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  }

  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer<T>> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        `${this.baseUrl}${path}`,
        {
          method,
          agent: this.agent,
          headers: {
            ...(payload !== undefined
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
              : {}),
            ...headers,
          },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => {
            const text = Buffer.concat(parts).toString();
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : {};
            } catch {
              // not JSON: kept as text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T, headers: res.headers });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  adminRequest<T = Record<string, unknown>>(method: string, path: string, body?: unknown) {
    return this.request<T>(method, path, body, { authorization: `Bearer ${this.admin}` });
  }

  /** Creates a space; its app token. */
  async createSpace(id: string): Promise<string> {
    const a = await this.adminRequest<{ app_token: string }>('POST', '/admin/spaces', { space_id: id });
    if (a.status !== 201) throw new Error(`create space ${id}: ${a.status} ${JSON.stringify(a.body)}`);
    return a.body.app_token;
  }

  /** Submits; the request id once the relay has committed it (throws on any other answer). */
  async submit(spaceId: string, input: unknown): Promise<string> {
    const a = await this.request<{ request_id?: string }>('POST', '/websockets/submit', {
      space_id: spaceId,
      input,
    });
    if (a.status !== 200 || !a.body.request_id)
      throw new Error(`submit to ${spaceId}: ${a.status} ${JSON.stringify(a.body)}`);
    return a.body.request_id;
  }

  async status(requestId: string): Promise<RequestView> {
    const a = await this.request<RequestView>(
      'GET',
      `/websockets/status?request_id=${encodeURIComponent(requestId)}`,
    );
    if (a.status !== 200) throw new Error(`status of ${requestId}: ${a.status} ${JSON.stringify(a.body)}`);
    return a.body;
  }

  async connections(): Promise<number> {
    const a = await this.adminRequest<{ connections: unknown[] }>('GET', '/admin/connections');
    return a.body.connections.length;
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * When each request's result was stored, as seen by the apps: `answered` with ok fires when the
 * relay acknowledged the answer, which it does after the result's write committed. Counts every
 * delivery and every accepted answer per request id, for the exactly-once check.
 */
export class ResultTracker {
  /** performance.now() of the first accepted answer, by request id. */
  readonly storedAt = new Map<string, number>();
  /** Accepted answers per request id (more than one is a duplicate). */
  readonly accepted = new Map<string, number>();
  /** inference_request deliveries per request id (more than one is a re-dispatch). */
  readonly delivered = new Map<string, number>();
  private readonly waiters = new Map<string, (at: number) => void>();

  watch(app: MockApp): MockApp {
    app.on('request', (r) => this.delivered.set(r.request_id, (this.delivered.get(r.request_id) ?? 0) + 1));
    app.on('answered', (a) => {
      if (a.ok) this.note(a.request_id);
    });
    return app;
  }

  /** An answer to `requestId` was acknowledged as stored, now. */
  note(requestId: string): void {
    const at = performance.now();
    this.accepted.set(requestId, (this.accepted.get(requestId) ?? 0) + 1);
    if (this.storedAt.has(requestId)) return;
    this.storedAt.set(requestId, at);
    const w = this.waiters.get(requestId);
    if (w) {
      this.waiters.delete(requestId);
      w(at);
    }
  }

  /** Resolves with performance.now() of the stored result (at once if it is already stored). */
  stored(requestId: string, timeoutMs = 60_000): Promise<number> {
    const at = this.storedAt.get(requestId);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(requestId);
        reject(new Error(`no result stored for ${requestId} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(requestId, (t) => {
        clearTimeout(timer);
        resolve(t);
      });
    });
  }
}

/** Runs `fn` over `items` with at most `limit` at once; results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>) {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T, i);
      }
    }),
  );
  return out;
}

/**
 * Connects `count` MockApps spread round-robin over `spaces`, `parallel` dials at a time, each
 * watched by `tracker`; `connectTime` gets connect + register ack of each, in ns.
 */
export async function connectFleet(o: {
  url: string;
  spaces: Array<{ id: string; token: string }>;
  count: number;
  parallel: number;
  tracker?: ResultTracker;
  connectTime?: LatencyRecorder;
  app?: Partial<MockAppOptions>;
  label?: string;
}): Promise<MockApp[]> {
  const apps: MockApp[] = [];
  try {
    await mapLimit(
      Array.from({ length: o.count }, (_, i) => i),
      o.parallel,
      async (i) => {
        const space = o.spaces[i % o.spaces.length] as { id: string; token: string };
        const app = new MockApp({
          url: o.url,
          spaceId: space.id,
          token: space.token,
          connectTimeoutMs: 30_000,
          ...o.app,
        });
        apps.push(app);
        o.tracker?.watch(app);
        const t = process.hrtime.bigint();
        await app.connect();
        o.connectTime?.record(Number(process.hrtime.bigint() - t));
        if (apps.length % 50 === 0)
          progress(`${o.label ?? 'spaces apps'}: ${apps.length}/${o.count} registered`);
      },
    );
  } catch (e) {
    await closeFleet(apps);
    throw e;
  }
  return apps;
}

export async function closeFleet(apps: MockApp[]): Promise<void> {
  await Promise.all(apps.map((a) => a.close()));
}

/**
 * Every acknowledged submit checked by its status: completed, its result the echo of its input,
 * accepted once by the apps. Lost: acknowledged but not completed (or its result wrong);
 * duplicated: answers accepted beyond the first.
 */
export async function exactlyOnce(
  client: SpacesHttp,
  submitted: Map<string, unknown>,
  tracker: ResultTracker,
  /** false where a relay crash may have lost an ack after its commit (the result is stored all the same). */
  requireAck = true,
): Promise<{ lost: number; duplicated: number; redelivered: number; problems: string[] }> {
  const problems: string[] = [];
  let lost = 0;
  let duplicated = 0;
  let redelivered = 0;
  await mapLimit([...submitted], 16, async ([id, input]) => {
    const view = await client.status(id);
    const same = JSON.stringify(view.result) === JSON.stringify({ echo: input });
    if (view.status !== 'completed' || !same) {
      lost++;
      if (problems.length < 10)
        problems.push(`${id}: ${view.status}, result ${JSON.stringify(view.result ?? view.error)}`);
    }
    const n = tracker.accepted.get(id) ?? 0;
    if (n > 1) duplicated += n - 1;
    if (requireAck && n === 0 && view.status === 'completed' && problems.length < 10)
      problems.push(`${id}: completed, but no app saw its answer accepted`);
    redelivered += Math.max(0, (tracker.delivered.get(id) ?? 0) - 1);
  });
  return { lost, duplicated, redelivered, problems };
}

/**
 * A TCP proxy in front of the relay for app connections: `cut()` closes every connection at once
 * (both sides see a reset, as in a network failure); `blackhole()` keeps them open but drops every
 * byte in both directions (a half-open link), until `restore()`.
 */
export class CutProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private dropping = false;
  port = 0;

  constructor(private readonly upstream: { host: string; port: number }) {
    this.server = net.createServer((down) => {
      const up = net.connect(this.upstream.port, this.upstream.host);
      const pair: [net.Socket, net.Socket] = [down, up];
      this.pairs.add(pair);
      const end = () => {
        this.pairs.delete(pair);
        down.destroy();
        up.destroy();
      };
      down.on('data', (d) => {
        if (!this.dropping) up.write(d);
      });
      up.on('data', (d) => {
        if (!this.dropping) down.write(d);
      });
      for (const s of pair) {
        s.setNoDelay(true);
        s.on('close', end);
        s.on('error', end);
      }
    });
  }

  static async start(target: string): Promise<CutProxy> {
    const u = new URL(target);
    const p = new CutProxy({ host: u.hostname, port: Number(u.port) });
    await new Promise<void>((resolve, reject) => {
      p.server.once('error', reject);
      p.server.listen(0, '127.0.0.1', () => resolve());
    });
    p.port = (p.server.address() as net.AddressInfo).port;
    return p;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get open(): number {
    return this.pairs.size;
  }

  cut(): number {
    const n = this.pairs.size;
    for (const [down, up] of [...this.pairs]) {
      down.resetAndDestroy();
      up.resetAndDestroy();
    }
    this.pairs.clear();
    return n;
  }

  blackhole(): void {
    this.dropping = true;
  }

  restore(): void {
    this.dropping = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface RawApp {
  socket: ClientSocket;
  /** inference_request messages received, in order. */
  requests: Array<{ request_id: string; input: unknown; attempt: number }>;
  cancels: Array<{ request_id: string; reason: string }>;
  register(spaceId: string, token: unknown, concurrency?: number): Promise<AckAnswer>;
  result(payload: Record<string, unknown>): Promise<AckAnswer>;
  close(): void;
}

export interface AckAnswer {
  ok: boolean;
  error?: { code: string; message: string };
  [k: string]: unknown;
}

/** A bare socket.io app that answers nothing by itself (no reconnects): the test sends every event. */
export async function rawApp(url: string): Promise<RawApp> {
  const socket = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  const requests: RawApp['requests'] = [];
  const cancels: RawApp['cancels'] = [];
  socket.on('inference_request', (msg, ack) => {
    requests.push(msg);
    if (typeof ack === 'function') ack({ ok: true });
  });
  socket.on('inference_cancel', (msg) => cancels.push(msg));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return {
    socket,
    requests,
    cancels,
    register: (space_id, token, concurrency) =>
      socket
        .timeout(5000)
        .emitWithAck('register', { space_id, token, ...(concurrency ? { concurrency } : {}) }),
    result: (payload) => socket.timeout(5000).emitWithAck('inference_result', payload),
    close: () => {
      socket.disconnect();
    },
  };
}

/** Waits until `check` holds (a behavioural wait, not a timing assertion); names what it awaited. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000) {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}
