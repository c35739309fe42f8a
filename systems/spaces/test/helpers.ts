// Test helpers: a real relay on 127.0.0.1:0 over a temp SQLite file, mock apps, and HTTP helpers.
// Everything a test opens is closed after it (failed tests included), in reverse order.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Socket as ClientSocket, io as ioClient } from 'socket.io-client';
import { afterEach } from 'vitest';
import type { SpacesConfigInput } from '../config.ts';
import { MockApp, type MockAppOptions } from '../mock-app.ts';
import { createSpacesServer, type SpacesServer } from '../server.ts';

export const ADMIN = 'test-admin-token-0123456789';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  const pending = cleanups.splice(0).reverse();
  for (const c of pending) await Promise.resolve(c()).catch(() => undefined);
});

export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rig-spaces-test-'));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface Running {
  server: SpacesServer;
  url: string;
  dbPath: string;
  close(): Promise<void>;
  /** Creates a space through the admin API; returns its app token. */
  space(id: string, name?: string): Promise<string>;
  /** A MockApp for `spaceId`, connected and registered, closed after the test. */
  app(spaceId: string, token: string, opts?: Partial<MockAppOptions>): Promise<MockApp>;
  submit(spaceId: string, input: unknown): Promise<string>;
  status(requestId: string): Promise<Record<string, unknown>>;
  admin(method: string, p: string, body?: unknown): Promise<Response>;
}

/** Starts a relay on a temp db (or `dbPath`), admin token ADMIN, fast reconnects in MockApps. */
export async function startSpaces(input: SpacesConfigInput = {}): Promise<Running> {
  const dbPath = input.dbPath ?? path.join(await tempDir(), 'spaces.db');
  const server = await createSpacesServer(
    { port: 0, adminToken: ADMIN, ...input, dbPath },
    { env: {}, closeGraceMs: 1000 },
  );
  const close = () => server.close();
  onCleanup(close);
  const url = await server.listen();
  const admin = (method: string, p: string, body?: unknown) =>
    fetch(`${url}${p}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  return {
    server,
    url,
    dbPath,
    close,
    admin,
    async space(id, name) {
      const res = await admin('POST', '/admin/spaces', { space_id: id, ...(name ? { name } : {}) });
      if (res.status !== 201) throw new Error(`create space ${id}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { app_token: string }).app_token;
    },
    async app(spaceId, token, opts = {}) {
      const app = new MockApp({
        url,
        spaceId,
        token,
        reconnectionDelayMs: 50,
        reconnectionDelayMaxMs: 200,
        connectTimeoutMs: 5000,
        ...opts,
      });
      onCleanup(() => app.close());
      await app.connect();
      return app;
    },
    async submit(spaceId, input) {
      const res = await postJson(`${url}/websockets/submit`, { space_id: spaceId, input });
      const body = (await res.json()) as { request_id?: string };
      if (res.status !== 200 || !body.request_id)
        throw new Error(`submit: ${res.status} ${JSON.stringify(body)}`);
      return body.request_id;
    },
    async status(requestId) {
      const res = await fetch(`${url}/websockets/status?request_id=${encodeURIComponent(requestId)}`);
      return (await res.json()) as Record<string, unknown>;
    },
  };
}

export function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** Polls `check` until it is true (a behavioural wait, never a timing assertion). */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Waits until the request reaches `status` (default: any terminal one) and returns its view. */
export async function settled(
  run: Running,
  requestId: string,
  status?: string,
): Promise<Record<string, unknown>> {
  let last: Record<string, unknown> = {};
  await until(
    async () => {
      last = await run.status(requestId);
      const s = last.status as string;
      return status ? s === status : s === 'completed' || s === 'failed' || s === 'timeout';
    },
    `request ${requestId} to reach ${status ?? 'a terminal status'} (last ${JSON.stringify(last)})`,
  );
  return last;
}

export interface RawApp {
  socket: ClientSocket;
  /** inference_request messages received, in order. */
  requests: Array<{ request_id: string; input: unknown; attempt: number }>;
  cancels: Array<{ request_id: string; reason: string }>;
  register(spaceId: string, token: string, concurrency?: number): Promise<Record<string, unknown>>;
  result(payload: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/** A bare socket.io client that answers nothing by itself: the test drives every event. */
export async function rawApp(url: string): Promise<RawApp> {
  const socket = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  onCleanup(() => {
    socket.disconnect();
  });
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
  };
}
