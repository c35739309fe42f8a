// The relay's state machine: per-space FIFO queues, registered apps, dispatch with leases, results,
// timeouts and re-queueing. Memory holds the open requests; every change is written to the store in
// order (batched per tick). A submit is acknowledged, and its request becomes dispatchable, only after
// its insert has committed. Transport-free: the server hands it AppLinks and listens to its events.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { SpacesConfig } from './config.ts';
import { SpacesError, type SpacesErrorCode } from './errors.ts';
import { RelayMetrics } from './metrics.ts';
import type { Features, ResultPayload } from './schemas.ts';
import { type RequestRow, type RequestStatus, type SpacesStore, TERMINAL } from './store.ts';
import { hashToken, newToken, tokenMatches } from './tokens.ts';

/** What the relay needs from one app connection (a socket.io socket in the server). */
export interface AppLink {
  readonly id: string;
  readonly address: string;
  send(msg: { request_id: string; input: unknown; attempt: number }): void;
  cancel(msg: { request_id: string; reason: string }): void;
  drop(reason: string): void;
}

export interface AppConn {
  readonly link: AppLink;
  readonly spaceId: string;
  readonly concurrency: number;
  readonly connectedAt: number;
  readonly inFlight: Map<string, LiveRequest>;
  handled: number;
}

interface LiveRequest {
  readonly seq: number;
  readonly id: string;
  readonly spaceId: string;
  readonly input: unknown;
  readonly createdAt: number;
  /** performance.now() at acceptance, for the latency histogram (NaN for resumed requests). */
  readonly t0: number;
  status: RequestStatus;
  attempts: number;
  lease: { app: AppConn; attempt: number } | undefined;
  timer: NodeJS.Timeout | undefined;
  dispatchedAt: number | undefined;
  /**
   * Set once terminal. Until the finishing write has committed (`durable`), readers are shown
   * `before`, the status it had: a crash in between re-runs the request.
   */
  final:
    | {
        result: unknown;
        attempt: number | null;
        conn: string | null;
        at: number;
        before: RequestStatus;
        durable: boolean;
      }
    | undefined;
}

interface SpaceState {
  readonly id: string;
  name: string;
  tokenHash: string;
  enabled: boolean;
  createdAt: number;
  /** Queued requests, FIFO; `head` is the index of the next one. */
  queue: LiveRequest[];
  head: number;
  /** Submits accepted but not yet committed (they count against the queue limit). */
  pending: number;
  apps: AppConn[];
  rr: number;
}

export interface RequestView {
  request_id: string;
  space_id: string;
  status: RequestStatus;
  /** 0 = next to dispatch; null when not queued. */
  queue_position: number | null;
  attempts: number;
  created_at: number;
  dispatched_at: number | null;
  finished_at: number | null;
  /** The app's output, when completed. */
  result?: unknown;
  /** `{ code, message }`, when failed or timed out. */
  error?: { code: string; message: string; app_code?: string };
}

export interface SpaceView {
  space_id: string;
  name: string;
  enabled: boolean;
  connections: number;
  queue_size: number;
  in_flight: number;
  created_at: number;
}

export interface RelayEvents {
  /** A space's connections, queue size or enabled flag changed. */
  onSpaceChange?(spaceId: string): void;
  /** A request changed status (terminal ones carry their result). */
  onRequestUpdate?(view: RequestView): void;
}

const queued = (s: SpaceState) => s.queue.length - s.head;

export class Relay {
  readonly metrics = new RelayMetrics();
  private readonly spaces = new Map<string, SpaceState>();
  private readonly live = new Map<string, LiveRequest>();
  private readonly apps = new Map<string, AppConn>();
  private features: Features = { submissions: true, registrations: true, web_ui: true };
  private seq = 0;
  private closed = false;

  constructor(
    private readonly config: SpacesConfig,
    private readonly store: SpacesStore,
    private readonly events: RelayEvents = {},
  ) {}

  /** Loads spaces and features, and resumes open requests (dispatched ones are queued again). */
  open(): { resumed: number } {
    for (const row of this.store.spaces()) {
      this.spaces.set(row.space_id, {
        id: row.space_id,
        name: row.name,
        tokenHash: row.token_hash,
        enabled: row.enabled === 1,
        createdAt: row.created_at,
        queue: [],
        head: 0,
        pending: 0,
        apps: [],
        rr: 0,
      });
    }
    const saved = this.store.setting('features');
    if (saved) this.features = { ...this.features, ...(JSON.parse(saved) as Partial<Features>) };
    const open = this.store.resumeOpen();
    for (const row of open) this.resume(row);
    return { resumed: open.length };
  }

  private resume(row: RequestRow): void {
    const space = this.spaces.get(row.space_id);
    const req = this.newLive(
      row.seq,
      row.request_id,
      row.space_id,
      JSON.parse(row.input),
      row.created_at,
      NaN,
    );
    req.attempts = row.attempts;
    this.live.set(req.id, req);
    if (!space) {
      this.finish(
        req,
        'failed',
        this.errorResult('SPACES_SPACE_DELETED', 'the space no longer exists'),
        null,
      );
      return;
    }
    space.queue.push(req);
    this.arm(req, row.created_at + this.config.requestTimeoutMs - Date.now());
  }

  private newLive(seq: number, id: string, spaceId: string, input: unknown, createdAt: number, t0: number) {
    this.seq = Math.max(this.seq, seq);
    const req: LiveRequest = {
      seq,
      id,
      spaceId,
      input,
      createdAt,
      t0,
      status: 'queued',
      attempts: 0,
      lease: undefined,
      timer: undefined,
      dispatchedAt: undefined,
      final: undefined,
    };
    return req;
  }

  // ---- spaces and features (admin) ----

  async createSpace(id: string, name?: string): Promise<{ space_id: string; app_token: string }> {
    if (this.spaces.has(id)) throw new SpacesError('SPACES_SPACE_EXISTS', `space "${id}" already exists`);
    const token = newToken('spt_');
    const now = Date.now();
    const space: SpaceState = {
      id,
      name: name ?? id,
      tokenHash: hashToken(token),
      enabled: true,
      createdAt: now,
      queue: [],
      head: 0,
      pending: 0,
      apps: [],
      rr: 0,
    };
    this.spaces.set(id, space);
    try {
      await this.store.write(() => this.store.insertSpace(id, space.name, space.tokenHash, now));
    } catch (e) {
      this.spaces.delete(id);
      throw new SpacesError('SPACES_STORE_FAILED', `could not store space: ${(e as Error).message}`, {
        cause: e,
      });
    }
    return { space_id: id, app_token: token };
  }

  async updateSpace(
    id: string,
    patch: { name?: string; enabled?: boolean; rotate_token?: true },
  ): Promise<SpaceView & { app_token?: string }> {
    const space = this.spaceOrThrow(id);
    let token: string | undefined;
    if (patch.name !== undefined) space.name = patch.name;
    if (patch.enabled !== undefined) space.enabled = patch.enabled;
    if (patch.rotate_token) {
      token = newToken('spt_');
      space.tokenHash = hashToken(token);
      for (const app of [...space.apps]) app.link.drop('app token rotated');
    }
    const row = {
      space_id: id,
      name: space.name,
      token_hash: space.tokenHash,
      enabled: space.enabled ? 1 : 0,
    };
    await this.store.write(() => this.store.updateSpace(row, Date.now()));
    this.events.onSpaceChange?.(id);
    return { ...this.spaceView(space), ...(token ? { app_token: token } : {}) };
  }

  /** Drops the space's apps, ends its open requests as failed (SPACES_SPACE_DELETED), removes it. */
  async deleteSpace(id: string): Promise<void> {
    const space = this.spaceOrThrow(id);
    this.spaces.delete(id);
    for (const app of [...space.apps]) {
      this.detach(app, false);
      app.link.drop('space deleted');
    }
    const deleted = this.errorResult('SPACES_SPACE_DELETED', `space "${id}" was deleted`);
    for (const req of space.queue.slice(space.head)) this.finish(req, 'failed', deleted, null);
    for (const req of this.live.values())
      if (req.spaceId === id && !req.final) this.finish(req, 'failed', deleted, null);
    await this.store.write(() => this.store.deleteSpace(id));
    this.events.onSpaceChange?.(id);
  }

  getFeatures(): Features {
    return { ...this.features };
  }

  async setFeatures(patch: Partial<Features>): Promise<Features> {
    this.features = { ...this.features, ...patch };
    const json = JSON.stringify(this.features);
    await this.store.write(() => this.store.setSetting('features', json));
    return this.getFeatures();
  }

  requireFeature(f: keyof Features): void {
    if (!this.features[f])
      throw new SpacesError('SPACES_FEATURE_DISABLED', `the "${f}" feature is turned off`);
  }

  space(id: string): SpaceView | undefined {
    const s = this.spaces.get(id);
    return s ? this.spaceView(s) : undefined;
  }

  listSpaces(): SpaceView[] {
    return [...this.spaces.values()].map((s) => this.spaceView(s));
  }

  private spaceView(s: SpaceState): SpaceView {
    let inFlight = 0;
    for (const a of s.apps) inFlight += a.inFlight.size;
    return {
      space_id: s.id,
      name: s.name,
      enabled: s.enabled,
      connections: s.apps.length,
      queue_size: queued(s),
      in_flight: inFlight,
      created_at: s.createdAt,
    };
  }

  private spaceOrThrow(id: string): SpaceState {
    const s = this.spaces.get(id);
    if (!s) throw new SpacesError('SPACES_SPACE_NOT_FOUND', `no space "${id}"`);
    return s;
  }

  // ---- apps ----

  /** Checks the token and adds the link to the space's apps. Throws SPACES_UNAUTHORIZED on a bad pair. */
  register(link: AppLink, spaceId: string, token: string, concurrency = 1): AppConn {
    this.requireFeature('registrations');
    const space = this.spaces.get(spaceId);
    // One answer for an unknown space and a wrong token, so that ids cannot be probed.
    if (!space || !tokenMatches(token, space.tokenHash)) {
      throw new SpacesError('SPACES_UNAUTHORIZED', `token refused for space "${spaceId}"`);
    }
    const existing = this.apps.get(link.id);
    if (existing) {
      if (existing.spaceId === spaceId) return existing;
      throw new SpacesError(
        'SPACES_INVALID_INPUT',
        `this connection is already registered for "${existing.spaceId}"`,
      );
    }
    const app: AppConn = {
      link,
      spaceId,
      concurrency: Math.min(concurrency, this.config.maxInFlightPerApp),
      connectedAt: Date.now(),
      inFlight: new Map(),
      handled: 0,
    };
    this.apps.set(link.id, app);
    space.apps.push(app);
    this.events.onSpaceChange?.(spaceId);
    this.pump(space);
    return app;
  }

  /** The connection is gone: its requests go back to the front of the queue, in submit order. */
  disconnect(linkId: string): void {
    const app = this.apps.get(linkId);
    if (app) this.detach(app, true);
  }

  private detach(app: AppConn, requeue: boolean): void {
    this.apps.delete(app.link.id);
    const space = this.spaces.get(app.spaceId);
    if (space) {
      const i = space.apps.indexOf(app);
      if (i >= 0) space.apps.splice(i, 1);
    }
    const held = [...app.inFlight.values()].sort((a, b) => b.seq - a.seq);
    app.inFlight.clear();
    if (!requeue || !space) return;
    for (const req of held) {
      req.lease = undefined;
      if (req.attempts >= this.config.maxAttempts) {
        const msg = `dropped by ${req.attempts} app connection(s); maxAttempts is ${this.config.maxAttempts}`;
        this.finish(req, 'failed', this.errorResult('SPACES_ATTEMPTS_EXHAUSTED', msg), null);
        continue;
      }
      req.status = 'queued';
      this.metrics.redispatches++;
      this.store.defer(() => this.store.markRequeued(req.id));
      this.pushFront(space, req);
      this.events.onRequestUpdate?.(this.view(req));
    }
    this.events.onSpaceChange?.(space.id);
    this.pump(space);
  }

  private pushFront(space: SpaceState, req: LiveRequest): void {
    if (space.head > 0) space.queue[--space.head] = req;
    else space.queue.unshift(req);
  }

  connections(): Array<{
    id: string;
    space_id: string;
    address: string;
    connected_at: number;
    concurrency: number;
    in_flight: number;
    handled: number;
  }> {
    return [...this.apps.values()].map((a) => ({
      id: a.link.id,
      space_id: a.spaceId,
      address: a.link.address,
      connected_at: a.connectedAt,
      concurrency: a.concurrency,
      in_flight: a.inFlight.size,
      handled: a.handled,
    }));
  }

  isRegistered(linkId: string): boolean {
    return this.apps.has(linkId);
  }

  // ---- requests ----

  /** Accepts a request once it is committed; throws a SpacesError when refused. */
  async submit(spaceId: string, input: unknown): Promise<{ request_id: string }> {
    try {
      this.requireFeature('submissions');
      const space = this.spaceOrThrow(spaceId);
      if (!space.enabled) throw new SpacesError('SPACES_SPACE_DISABLED', `space "${spaceId}" is disabled`);
      if (queued(space) + space.pending >= this.config.maxQueuePerSpace) {
        throw new SpacesError(
          'SPACES_QUEUE_FULL',
          `space "${spaceId}" already has ${this.config.maxQueuePerSpace} queued requests (maxQueuePerSpace)`,
          { retryAfterS: this.config.queueFullRetryAfterS },
        );
      }
      const inputJson = JSON.stringify(input);
      const now = Date.now();
      const req = this.newLive(++this.seq, randomUUID(), spaceId, input, now, performance.now());
      space.pending++;
      this.live.set(req.id, req);
      this.arm(req, this.config.requestTimeoutMs);
      try {
        await this.store.write(() => this.store.insertRequest(req.id, spaceId, inputJson, now));
      } catch (e) {
        clearTimeout(req.timer);
        this.live.delete(req.id);
        throw new SpacesError('SPACES_STORE_FAILED', `request not stored: ${(e as Error).message}`, {
          cause: e,
        });
      } finally {
        space.pending--;
      }
      this.metrics.submits++;
      if (req.final) return { request_id: req.id };
      if (this.spaces.get(spaceId) !== space) {
        const msg = `space "${spaceId}" was deleted`;
        void this.finish(req, 'failed', this.errorResult('SPACES_SPACE_DELETED', msg), null).catch(
          () => undefined,
        );
        return { request_id: req.id };
      }
      space.queue.push(req);
      this.pump(space);
      this.events.onSpaceChange?.(spaceId);
      return { request_id: req.id };
    } catch (e) {
      if (e instanceof SpacesError) this.metrics.reject(e.code);
      throw e;
    }
  }

  /** Dispatches queued requests of `space` while an app has a free slot. */
  private pump(space: SpaceState): void {
    if (this.closed) return;
    let changed = false;
    while (space.head < space.queue.length) {
      const app = this.pickApp(space);
      if (!app) break;
      const req = space.queue[space.head] as LiveRequest;
      space.queue[space.head++] = undefined as unknown as LiveRequest;
      this.dispatch(req, app);
      changed = true;
    }
    if (space.head > 1024 && space.head * 2 > space.queue.length) {
      space.queue = space.queue.slice(space.head);
      space.head = 0;
    } else if (space.head === space.queue.length && space.head > 0) {
      space.queue.length = 0;
      space.head = 0;
    }
    if (changed) this.events.onSpaceChange?.(space.id);
  }

  /** The least busy app with a free slot; ties go round-robin. */
  private pickApp(space: SpaceState): AppConn | undefined {
    const n = space.apps.length;
    let best: AppConn | undefined;
    let bestIdx = 0;
    for (let k = 0; k < n; k++) {
      const i = (space.rr + k) % n;
      const a = space.apps[i] as AppConn;
      if (a.inFlight.size >= a.concurrency) continue;
      if (!best || a.inFlight.size < best.inFlight.size) {
        best = a;
        bestIdx = i;
        if (a.inFlight.size === 0) break;
      }
    }
    if (best) space.rr = (bestIdx + 1) % n;
    return best;
  }

  private dispatch(req: LiveRequest, app: AppConn): void {
    req.attempts++;
    req.status = 'dispatched';
    req.lease = { app, attempt: req.attempts };
    req.dispatchedAt = Date.now();
    app.inFlight.set(req.id, req);
    const { attempts, dispatchedAt } = req;
    this.store.defer(() => this.store.markDispatched(req.id, attempts, dispatchedAt));
    this.metrics.dispatches++;
    app.link.send({ request_id: req.id, input: req.input, attempt: req.attempts });
    this.events.onRequestUpdate?.(this.view(req));
  }

  /**
   * An app's answer. Accepted only from the connection that holds the current lease (and, when the
   * payload names an attempt, for that attempt); a repeat of an accepted answer is acknowledged again
   * (`duplicate`), anything else is SPACES_LATE_RESULT. Resolves once the result has committed.
   */
  async result(linkId: string, payload: ResultPayload): Promise<{ duplicate: boolean }> {
    const app = this.apps.get(linkId);
    if (!app) throw new SpacesError('SPACES_NOT_REGISTERED', 'register before sending results');
    const req = this.live.get(payload.request_id);
    const attempt = payload.attempt;
    if (!req || req.final) {
      const row = req?.final ? undefined : this.store.request(payload.request_id);
      const doneAttempt = req?.final ? req.final.attempt : row?.result_attempt;
      const doneConn = req?.final ? req.final.conn : row?.result_conn;
      const status = req?.status ?? row?.status;
      const same = attempt !== undefined ? attempt === doneAttempt : doneConn === linkId;
      if (status && status !== 'timeout' && doneConn !== null && same) {
        if (req?.final) await this.store.write(() => undefined);
        return { duplicate: true };
      }
      this.metrics.lateResults++;
      if (!status) throw new SpacesError('SPACES_REQUEST_NOT_FOUND', `no request "${payload.request_id}"`);
      throw new SpacesError('SPACES_LATE_RESULT', `request "${payload.request_id}" is already ${status}`);
    }
    const lease = req.lease;
    if (!lease || lease.app !== app || (attempt !== undefined && attempt !== lease.attempt)) {
      this.metrics.lateResults++;
      throw new SpacesError(
        'SPACES_LATE_RESULT',
        `request "${req.id}" is ${req.status === 'queued' ? 'queued again' : `held by attempt ${lease?.attempt}`}; this answer is not current`,
      );
    }
    app.handled++;
    const done =
      'error' in payload
        ? this.finish(req, 'failed', this.appError(payload.error), app)
        : this.finish(req, 'completed', payload.output, app);
    await done;
    return { duplicate: false };
  }

  private appError(e: string | { code?: string | undefined; message: string }) {
    if (typeof e === 'string') return { code: 'SPACES_APP_ERROR', message: e };
    return { code: 'SPACES_APP_ERROR', message: e.message, ...(e.code ? { app_code: e.code } : {}) };
  }

  private errorResult(code: SpacesErrorCode, message: string) {
    return { code, message };
  }

  /** Ends a request exactly once: later calls are no-ops. Resolves when the write has committed. */
  private finish(
    req: LiveRequest,
    status: RequestStatus,
    result: unknown,
    app: AppConn | null,
  ): Promise<void> {
    if (req.final) return Promise.resolve();
    clearTimeout(req.timer);
    req.timer = undefined;
    const lease = req.lease;
    if (lease) lease.app.inFlight.delete(req.id);
    req.lease = undefined;
    const before = req.status;
    req.status = status;
    const now = Date.now();
    req.final = {
      result,
      attempt: lease?.attempt ?? null,
      conn: app ? app.link.id : null,
      at: now,
      before,
      durable: false,
    };
    const json = JSON.stringify(result) ?? 'null';
    const { attempt, conn } = req.final;
    this.metrics.finish(status, (performance.now() - req.t0) / 1000);
    const written = this.store.write(() => this.store.markFinished(req.id, status, json, attempt, conn, now));
    const space = this.spaces.get(req.spaceId);
    if (lease && space) this.pump(space);
    return written.then(
      () => {
        // Viewers hear of a terminal status only once it is durable: a crash before the commit
        // re-runs the request, and nobody has seen a result that was then undone.
        if (req.final) req.final.durable = true;
        this.events.onRequestUpdate?.(this.view(req));
        this.live.delete(req.id);
      },
      (e: unknown) => {
        this.live.delete(req.id);
        throw new SpacesError('SPACES_STORE_FAILED', `result not stored: ${(e as Error).message}`, {
          cause: e,
        });
      },
    );
  }

  private arm(req: LiveRequest, ms: number): void {
    req.timer = setTimeout(() => this.expire(req), Math.max(0, ms));
    req.timer.unref();
  }

  private expire(req: LiveRequest): void {
    if (req.final) return;
    const lease = req.lease;
    const space = this.spaces.get(req.spaceId);
    if (req.status === 'queued' && space) {
      const i = space.queue.indexOf(req, space.head);
      if (i >= 0) space.queue.splice(i, 1);
    }
    const msg = `no result within requestTimeoutMs (${this.config.requestTimeoutMs} ms)`;
    void this.finish(req, 'timeout', this.errorResult('SPACES_REQUEST_TIMEOUT', msg), null).catch(
      () => undefined,
    );
    if (lease) lease.app.link.cancel({ request_id: req.id, reason: 'timeout' });
    if (space) this.events.onSpaceChange?.(space.id);
  }

  /** The status of a request: memory for open ones, the store for the rest. */
  status(requestId: string): RequestView {
    const req = this.live.get(requestId);
    if (req) return this.view(req);
    const row = this.store.request(requestId);
    if (!row) throw new SpacesError('SPACES_REQUEST_NOT_FOUND', `no request "${requestId}"`);
    return rowView(row);
  }

  private view(req: LiveRequest): RequestView {
    const pending = req.final !== undefined && !req.final.durable;
    const status = pending ? req.final!.before : req.status;
    let position: number | null = null;
    if (status === 'queued') {
      const space = this.spaces.get(req.spaceId);
      const i = space ? space.queue.indexOf(req, space.head) : -1;
      position = space ? (i >= 0 ? i - space.head : queued(space)) : null;
    }
    const v: RequestView = {
      request_id: req.id,
      space_id: req.spaceId,
      status,
      queue_position: position,
      attempts: req.attempts,
      created_at: req.createdAt,
      dispatched_at: req.dispatchedAt ?? null,
      finished_at: pending ? null : (req.final?.at ?? null),
    };
    if (req.final && !pending) attachResult(v, req.status, req.final.result);
    return v;
  }

  gauges() {
    const connections: Array<[Record<string, string>, number]> = [];
    const queueDepth: Array<[Record<string, string>, number]> = [];
    const inFlight: Array<[Record<string, string>, number]> = [];
    for (const s of this.spaces.values()) {
      const v = this.spaceView(s);
      connections.push([{ space: s.id }, v.connections]);
      queueDepth.push([{ space: s.id }, v.queue_size]);
      inFlight.push([{ space: s.id }, v.in_flight]);
    }
    return { connections, queueDepth, inFlight };
  }

  /** Stops dispatching and timers; open requests stay in the store for the next start. */
  close(): void {
    this.closed = true;
    for (const req of this.live.values()) clearTimeout(req.timer);
    this.store.flush();
  }
}

function attachResult(v: RequestView, status: RequestStatus, result: unknown): void {
  if (status === 'completed') v.result = result;
  else if (TERMINAL.has(status)) v.error = result as RequestView['error'];
}

export function rowView(row: RequestRow): RequestView {
  const v: RequestView = {
    request_id: row.request_id,
    space_id: row.space_id,
    status: row.status,
    queue_position: null,
    attempts: row.attempts,
    created_at: row.created_at,
    dispatched_at: row.dispatched_at,
    finished_at: row.finished_at,
  };
  if (row.result !== null) attachResult(v, row.status, JSON.parse(row.result));
  return v;
}
