// Machine references every other figure can be read against: a bare node:http server under
// autocannon (closed and open model), a 4 KiB memcpy and the timer itself. They also exercise the
// harness's own drivers end to end in every smoke run.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  httpLoad,
  microBench,
  openLoop,
  profile,
  ResourceSampler,
  recordBench,
  recordHttpLoad,
  recordLoad,
  recordResources,
} from '../../harness/index.ts';

let server: http.Server;
let url: string;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  agent.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function get(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
  });
}

describe('harness references', () => {
  it('bare node:http hello-world under autocannon (closed model, 10 connections)', async () => {
    const sampler = new ResourceSampler().start();
    const r = await httpLoad({ url, connections: 10, durationMs: profile().durationMs });
    const resources = sampler.stop();
    expect(r.requests).toBeGreaterThan(0);
    expect(r.non2xx).toBe(0);
    await recordHttpLoad('harness.http.bare', r, {
      method: 'GET / on an in-process node:http server, autocannon in a worker thread',
    });
    await recordResources('harness.http.bare.server', resources, { method: 'test process while serving' });
  });

  it('bare node:http at a constant arrival rate (open model, latency from intended start)', async () => {
    const r = await openLoop({
      rate: 500,
      durationMs: profile().durationMs,
      warmupMs: profile().warmupMs,
      op: get,
    });
    expect(r.completed).toBeGreaterThan(0);
    expect(r.errors).toBe(0);
    await recordLoad('harness.http.bare.open500', r, {
      method: 'keep-alive GET / at 500 arrivals/s from the same process, coordinated-omission corrected',
      unit: 'req/s',
    });
  });

  it('memcpy and timer references (tinybench)', async () => {
    const src = Buffer.alloc(4096, 7);
    const dst = Buffer.alloc(4096);
    const results = await microBench(
      {
        'memcpy 4KiB': () => src.copy(dst),
        'hrtime.bigint': () => process.hrtime.bigint(),
      },
      { timeMs: Math.min(1000, profile().durationMs / 4), warmupMs: profile().warmupMs / 4 },
    );
    expect(results['memcpy 4KiB']?.state).toBe('completed');
    expect(dst[4095]).toBe(7);
    await recordBench('harness.memcpy.4KiB', results['memcpy 4KiB'], {
      method: 'Buffer.copy of 4 KiB into a reused buffer',
    });
    await recordBench('harness.timer.hrtime', results['hrtime.bigint'], {
      method: 'process.hrtime.bigint() call',
    });
  });
});
