// Test helpers: a real server on 127.0.0.1:0 over a temp root, closed and removed after each test
// (failed ones included), and small HTTP helpers.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { StorageClient } from '../client/storage-client.ts';
import type { StorageConfigInput } from '../config.ts';
import { createStorageServer, type StorageServer } from '../server.ts';

export interface Running {
  server: StorageServer;
  url: string;
  root: string;
  client: StorageClient;
  close(): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  const pending = cleanups.splice(0).reverse();
  for (const c of pending) await c().catch(() => undefined);
});

/** A fresh temp dir, removed after the test. */
export async function tempDir(prefix = 'rig-storage-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts a server (default: fs backend, no minimum part size) on `root` or a new temp dir. */
export async function startStorage(input: StorageConfigInput = {}): Promise<Running> {
  const root = input.root ?? (await tempDir());
  const server = await createStorageServer(
    { port: 0, minPartBytes: 0, ...input, root },
    { env: {}, closeGraceMs: 1000 },
  );
  const close = () => server.close();
  cleanups.push(close);
  const url = await server.listen();
  return { server, url, root, client: new StorageClient(url), close };
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

export async function json(
  res: Response,
): Promise<Record<string, unknown> & { error?: { code: string; message: string } }> {
  return (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string } };
}

export function putJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

export function postJson(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** GET with the path exactly as given (fetch would normalise `..` and encodings away). */
export function rawGet(base: string, rawPath: string): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every file under `dir`, relative, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else out.push(path.relative(dir, full));
    }
  };
  await walk(dir);
  return out.sort();
}

export function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x & 0xff;
  }
  return b;
}
