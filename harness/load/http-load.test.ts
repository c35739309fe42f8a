import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runningAutocannonChildren } from './autocannon-process.ts';
import { httpFailures, httpLoad, recordHttpLoad } from './http-load.ts';

// Figures of these tests go to a throwaway run, not the run that is testing the harness.
const runDir = mkdtempSync(path.join(os.tmpdir(), 'rig-http-load-'));
process.env.RIG_RUN_DIR = runDir;

/** Requests (by arrival order, from 1) that never get an answer, and one that gets a 503. */
const HANG = new Set([3, 7]);
const UNAVAILABLE = 5;

let server: http.Server;
let url = '';
let seen = 0;
let hung = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen++;
    if (req.url !== '/flaky') return void res.end('ok');
    if (HANG.has(seen)) {
      hung++;
      return; // no answer: autocannon's timeout closes the connection
    }
    res.statusCode = seen === UNAVAILABLE ? 503 : 200;
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(runDir, { recursive: true, force: true });
});

function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('httpLoad', () => {
  it('counts each timeout once: in errors, not again on top of them', async () => {
    seen = 0;
    hung = 0;
    // Two connections; each hangs on one request, times out after 1 s and reconnects.
    const r = await httpLoad({ url: `${url}/flaky`, connections: 2, durationMs: 2_500, timeoutS: 1 });
    expect(r.process).toBe('child');
    expect(r.valid, r.invalidReason).toBe(true);
    expect(hung).toBe(2);
    expect(r.timeouts).toBe(2);
    expect(r.errors).toBe(2);
    expect(r.non2xx).toBe(1);
    expect(httpFailures(r)).toEqual({ failed: 3, attempts: r.requests + 2 });
    // The per-interval rates cover the whole intervals of the window.
    expect(r.rpsStats.n).toBe(Math.floor((r.durationS * 1000) / r.intervalMs));
    const figures = await recordHttpLoad('harness.test.flaky', r, { method: 'unit test' });
    const errorRate = figures.find((f) => f.id === 'harness.test.flaky.error_rate');
    expect(errorRate?.value).toBeCloseTo((100 * 3) / (r.requests + 2), 10);
    expect(errorRate?.n).toBe(r.requests + 2);
    expect(errorRate?.method).toContain('2 without a response (2 of them timeouts), 1 non-2xx');
  });

  it('kills its child when aborted, and reports why instead of throwing', async () => {
    const controller = new AbortController();
    const run = httpLoad({
      url: `${url}/fast`,
      connections: 1,
      durationMs: 30_000,
      signal: controller.signal,
    });
    let pids: number[] = [];
    for (let i = 0; i < 100 && pids.length === 0; i++) {
      await sleep(20);
      pids = runningAutocannonChildren();
    }
    expect(pids).toHaveLength(1);
    controller.abort();
    const r = await run;
    expect(r.valid).toBe(false);
    expect(r.invalidReason).toContain('aborted');
    expect(runningAutocannonChildren()).toEqual([]);
    expect(exists(pids[0]!)).toBe(false);
  });

  it('runs inline on request, with the same result shape', async () => {
    const r = await httpLoad({ url: `${url}/fast`, connections: 2, amount: 200, process: 'inline' });
    expect(r.process).toBe('inline');
    expect(r.requests).toBe(200);
    expect(r.errors + r.non2xx).toBe(0);
    expect(r.valid).toBe(true);
  });
});
