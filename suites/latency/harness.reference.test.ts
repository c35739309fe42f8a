// Machine references every other figure can be read against: a bare node:http server under
// autocannon (closed and open model), a 4 KiB memcpy and the timer itself, whose cost is the
// floor under every latency timed per call. They also exercise the harness's own drivers end to
// end in every smoke run.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BenchResult,
  httpLoad,
  measureTimer,
  microBench,
  openLoop,
  profile,
  ResourceSampler,
  recordBench,
  recordFigure,
  recordHttpLoad,
  recordLoad,
  recordResources,
  type Stats,
  summarize,
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

const MEMCPY_BATCH = 64;

/** A micro-benchmark whose every call ran `batch` operations, as figures per operation. */
function perOperation(result: BenchResult | undefined, batch: number): BenchResult | undefined {
  if (result?.state !== 'completed') return result;
  const scale = (stats: Stats, factor: number): Stats => ({
    ...stats,
    min: stats.min * factor,
    p50: stats.p50 * factor,
    p90: stats.p90 * factor,
    p95: stats.p95 * factor,
    p99: stats.p99 * factor,
    max: stats.max * factor,
    mean: stats.mean * factor,
    sd: stats.sd * factor,
    ci95: [stats.ci95[0] * factor, stats.ci95[1] * factor],
  });
  return {
    ...result,
    latency: scale(result.latency, 1 / batch),
    opsPerSec: result.opsPerSec * batch,
    opsStats: scale(result.opsStats, batch),
  };
}

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

  it('timer reference: the cost of one hrtime read', async () => {
    // The same measurement, cached per process, that the timer floor judges per-call latencies by.
    const timer = measureTimer();
    const stats = summarize(timer.pairsNs, { statistic: 'p50', resamples: profile().resamples });
    await recordFigure({
      id: 'harness.timer.hrtime.p50',
      value: timer.costNs,
      unit: 'ns',
      better: 'lower',
      n: stats.n,
      stats,
      method: `process.hrtime.bigint() read twice back to back, ${stats.n} pairs after as many of warm-up; the median difference`,
      labels: { timing: 'clock' },
    });
    expect(timer.costNs).toBeGreaterThan(0);
  });

  it('memcpy reference (tinybench, amortised over a batch)', async () => {
    const src = Buffer.alloc(4096, 7);
    const dst = Buffer.alloc(4096);
    // One copy takes about what a clock read does: each tinybench call makes MEMCPY_BATCH of them.
    const results = await microBench(
      {
        'memcpy 4KiB': () => {
          for (let i = 0; i < MEMCPY_BATCH; i++) src.copy(dst);
        },
      },
      { timeMs: Math.min(1000, profile().durationMs / 4), warmupMs: profile().warmupMs / 4 },
    );
    await recordBench('harness.memcpy.4KiB', perOperation(results['memcpy 4KiB'], MEMCPY_BATCH), {
      method: `Buffer.copy of 4 KiB into a reused buffer, ${MEMCPY_BATCH} per timed call, divided by ${MEMCPY_BATCH}`,
      labels: { timing: 'amortised' },
    });
    // After recording: an errored task is a figure with its reason first, then a failed test.
    for (const [name, r] of Object.entries(results)) expect(r.state, name).toBe('completed');
    expect(dst[4095]).toBe(7);
  });
});
