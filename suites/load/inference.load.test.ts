// Inference load: a concurrency sweep (1, 5, 10, 20, 50) with success rate, req/s, TTFT, ITL,
// TPOT and E2E as `vllm bench serve` defines them; open-model runs at constant and Poisson
// arrivals with goodput against TTFT/TPOT SLOs; autocannon (in its own process) on /health in
// windows interleaved with a bare fastify server (child process), the same-run reference, and on
// /v1/models; 100 concurrent requests that must all succeed or get an explicit 429; server memory
// over the whole file. Success and error rates are recorded before anything is asserted.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closedLoop,
  type HttpLoadResult,
  httpLoad,
  interleaved,
  LatencyRecorder,
  openLoop,
  pairedRatio,
  profile,
  progress,
  type ResourceResult,
  ResourceSampler,
  recordFigure,
  recordHttpLoad,
  recordLatency,
  recordLoad,
  recordResources,
  startSystem,
  summarize,
  useSystem,
} from '../../harness/index.ts';
import {
  inferenceSystem,
  openaiUrls,
  type StreamTiming,
  timedStream,
} from '../../systems/inference/index.ts';

/** SLOs for goodput (a request counts when it meets both). */
const SLO = { ttftMs: 1_000, tpotMs: 100 };
const MAX_TOKENS = 8;
/** Each autocannon child first loads the target unrecorded for this long (JIT of its HTTP client). */
const WINDOW_WARMUP_MS = 200;

const sys = useSystem(inferenceSystem, { options: { engine: 'llama_cpp', slots: 4, queueLimit: 256 } });
let v1 = '';
let root = '';
let model = '';
let ours = false;
let sampler: ResourceSampler | undefined;
let resources: ResourceResult | undefined;

beforeAll(async () => {
  ({ v1, root } = openaiUrls(sys().endpoint));
  ours = sys().provider !== 'external';
  const models = (await (await fetch(`${v1}/models`)).json()) as { data: Array<{ id: string }> };
  model = models.data[0]?.id ?? '';
  const pid = sys().pid;
  if (ours && pid !== undefined) sampler = new ResourceSampler({ pid, intervalMs: 100 }).start();
});

afterAll(async () => {
  resources = sampler?.stop();
  if (resources) {
    await recordResources('inference.server', resources, {
      method: 'the gateway child process (/proc) sampled every 100 ms over the whole load file',
    });
  }
});

const chatBody = (i: number) => ({
  model,
  messages: [{ role: 'user', content: `Request ${i}: tell me about the sky.` }],
  max_tokens: MAX_TOKENS,
  temperature: 1,
  seed: i,
});

const ns = (x: number) => Math.round(x * 1e6);

class TimingSet {
  readonly ttft = new LatencyRecorder({ unit: 'ms' });
  readonly itl = new LatencyRecorder({ unit: 'ms' });
  readonly tpot = new LatencyRecorder({ unit: 'ms' });
  outputTokens = 0;
  good = 0;
  add(t: StreamTiming): void {
    if (t.ttftMs !== undefined) this.ttft.record(ns(t.ttftMs));
    for (const g of t.itlMs) this.itl.record(ns(g));
    if (t.tpotMs !== undefined) this.tpot.record(ns(t.tpotMs));
    this.outputTokens += t.outputTokens;
    if (t.ttftMs !== undefined && t.ttftMs <= SLO.ttftMs && (t.tpotMs ?? 0) <= SLO.tpotMs) this.good++;
  }
  async record(prefix: string, method: string): Promise<void> {
    if (this.ttft.n > 0) await recordLatency(`${prefix}.ttft`, this.ttft, { method: `${method}; TTFT` });
    if (this.itl.n > 0) await recordLatency(`${prefix}.itl`, this.itl, { method: `${method}; ITL` });
    if (this.tpot.n > 0) await recordLatency(`${prefix}.tpot`, this.tpot, { method: `${method}; TPOT` });
  }
}

async function streamOnce(i: number, set: TimingSet): Promise<void> {
  const t = await timedStream(v1, chatBody(i));
  if (!t.ok) throw new Error(t.error ?? `HTTP ${t.status}`);
  set.add(t);
}

let bestRate = 1;

/** One autocannon window and when it began, ms after the first. */
interface Window {
  atMs: number;
  result: HttpLoadResult;
}

/**
 * `${prefix}.throughput` (median req/s over the windows, its interval by bootstrap over windows,
 * each window's rate as the series) and `${prefix}.error_rate` over all windows; returns the median.
 */
async function recordWindows(
  prefix: string,
  windows: Window[],
  rps: number[],
  meta: {
    method: string;
    validity: { valid?: boolean; invalidReason?: string };
    reference?: { id: string; value: number; ratio?: number; ratioCi95?: [number, number]; pairs?: number };
  },
): Promise<number> {
  const stats = summarize(rps, { statistic: 'p50', resamples: profile().resamples });
  const sum = (pick: (r: HttpLoadResult) => number) =>
    windows.reduce((total, w) => total + pick(w.result), 0);
  const responses = sum((r) => r.requests);
  await recordFigure({
    id: `${prefix}.throughput`,
    value: stats.p50,
    unit: 'req/s',
    better: 'higher',
    n: responses,
    stats,
    series: windows.map((w) => [w.atMs, w.result.rps]),
    method: meta.method,
    ...(meta.reference ? { reference: meta.reference } : {}),
    ...meta.validity,
  });
  // autocannon counts a timeout among its errors: each failed request counts once.
  const noResponse = sum((r) => r.errors);
  const failed = noResponse + sum((r) => r.non2xx);
  const attempts = responses + noResponse;
  await recordFigure({
    id: `${prefix}.error_rate`,
    value: attempts > 0 ? (100 * failed) / attempts : 0,
    unit: '%',
    better: 'lower',
    n: attempts,
    method: `${meta.method}; ${failed} failed of ${attempts} attempts (${noResponse} without a response, ${sum((r) => r.timeouts)} of them timeouts)`,
    ...meta.validity,
  });
  return stats.p50;
}

describe('inference load', () => {
  for (const concurrency of [1, 5, 10, 20, 50]) {
    it(`concurrency ${concurrency}: success rate, req/s, TTFT, ITL, TPOT, E2E`, async () => {
      const set = new TimingSet();
      let seq = 0;
      // A count, not a window: every step gets enough samples for valid percentiles.
      const r = await closedLoop({
        concurrency,
        count: Math.max(profile().minSamples, profile().count(concurrency * 4)),
        unit: 'ms',
        label: `inference c=${concurrency}`,
        op: () => streamOnce(seq++, set),
      });
      bestRate = Math.max(bestRate, r.achievedRate);
      const prefix = `inference.sweep.c${concurrency}`;
      const method = `closed loop, ${concurrency} workers, streaming chat max_tokens ${MAX_TOKENS}`;
      const total = r.completed + r.errors;
      // First, because nothing below it can fail it: the success rate of a broken step is the news.
      await recordFigure({
        id: `${prefix}.success_rate`,
        value: total ? (100 * r.completed) / total : 0,
        unit: '%',
        better: 'higher',
        n: total,
        method,
      });
      await recordLoad(`${prefix}.e2e`, r, { method, unit: 'req/s' });
      await set.record(prefix, method);
      await recordFigure({
        id: `${prefix}.output_rate`,
        value: set.outputTokens / (r.throughput.elapsedMs / 1000),
        unit: 'tok/s',
        better: 'higher',
        n: r.completed,
        method: `${method}; output tokens over the window`,
      });
      // Asserted after recording, so that a failing step still leaves its success rate.
      expect(r.completed).toBeGreaterThan(0);
      expect(r.errorSamples).toEqual([]);
    });
  }

  for (const arrival of ['constant', 'poisson'] as const) {
    it(`open model, ${arrival} arrivals at 30% of the best closed-loop rate: goodput vs SLOs`, async () => {
      // The driver parses every SSE stream on the same 2 cores as the server: stay well below capacity.
      const rate = Math.max(1, Math.floor(bestRate * 0.3));
      const set = new TimingSet();
      const durationMs = profile().duration(2_000);
      const r = await openLoop({
        rate,
        durationMs,
        arrival,
        seed: 7,
        unit: 'ms',
        maxInFlight: 512,
        label: `inference open ${arrival}`,
        op: (i) => streamOnce(i, set),
      });
      const prefix = `inference.open.${arrival}`;
      const method = `open model, ${arrival} arrivals at ${rate} req/s for ${durationMs} ms, streaming chat max_tokens ${MAX_TOKENS}`;
      await recordLoad(`${prefix}.e2e`, r, { method, unit: 'req/s' });
      await set.record(prefix, method);
      const elapsedS = r.throughput.elapsedMs / 1000;
      await recordFigure({
        id: `${prefix}.goodput`,
        value: set.good / elapsedS,
        unit: 'req/s',
        better: 'higher',
        n: r.completed,
        method: `${method}; requests meeting TTFT <= ${SLO.ttftMs} ms and TPOT <= ${SLO.tpotMs} ms, per second`,
        reference: { id: `${prefix}.e2e.throughput`, value: r.achievedRate },
        ...(r.valid ? {} : { valid: false, invalidReason: r.invalidReason ?? 'open loop invalid' }),
      });
      expect(r.errorSamples).toEqual([]);
    });
  }

  describe('HTTP stress of cheap routes against a bare fastify reference', () => {
    let bare: ChildProcess | undefined;
    let bareUrl = '';
    beforeAll(async () => {
      // A bare fastify 5 server in its own process, like the gateway: the same-run reference.
      const script = [
        "import Fastify from 'fastify';",
        'const app = Fastify();',
        "app.get('/health', async () => ({ status: 'ok' }));",
        "const url = await app.listen({ host: '127.0.0.1', port: 0 });",
        "process.stdout.write('listening on ' + url + '\\n');",
        "process.on('SIGTERM', () => app.close().then(() => process.exit(0)));",
      ].join('\n');
      bare = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const [line] = (await Promise.race([
        once(bare.stdout as NodeJS.ReadableStream, 'data'),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('bare fastify did not start in 10 s')), 10_000),
        ),
      ])) as [Buffer];
      bareUrl = /listening on (\S+)/.exec(line.toString())?.[1] ?? '';
    });
    afterAll(async () => {
      if (bare && bare.exitCode === null) {
        const exited = once(bare, 'exit');
        bare.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))]);
        if (bare.exitCode === null) bare.kill('SIGKILL');
      }
    });

    it('autocannon: gateway /health vs bare fastify /health in interleaved windows; /v1/models', async () => {
      expect(bareUrl).toMatch(/^http:/);
      const health = `${root}/health`;
      const bareHealth = `${bareUrl}/health`;
      // Unrecorded warm-up of both servers (JIT, connection handling), then the measured windows.
      for (const url of [bareHealth, health, `${v1}/models`]) {
        await httpLoad({ url, connections: 10, durationMs: Math.max(200, profile().warmupMs) });
      }
      // Short windows, alternating gateway and bare fastify (AB BA ...), so that drift in the
      // machine's load falls on both sides; each pair gives one ratio.
      const windowMs = Math.max(300, Math.round(profile().durationMs / 2));
      const pairs = profile().scale >= 10 ? 10 : 6;
      const windowLoad = (url: string) =>
        httpLoad({ url, connections: 10, durationMs: windowMs, warmupMs: WINDOW_WARMUP_MS });
      const gatewayWindows: Window[] = [];
      const bareWindows: Window[] = [];
      const t0 = performance.now();
      const measureWindow = async (url: string, into: Window[]) => {
        const atMs = performance.now() - t0;
        const result = await windowLoad(url);
        into.push({ atMs, result });
        return result.rps;
      };
      const { a: gatewayRps, b: bareRps } = await interleaved({
        windows: pairs,
        a: () => measureWindow(health, gatewayWindows),
        b: () => measureWindow(bareHealth, bareWindows),
        label: 'inference /health vs bare fastify /health',
      });
      const method =
        `autocannon in its own process, 10 connections, ${pairs} pairs of ${windowMs} ms windows ` +
        `(each after a ${WINDOW_WARMUP_MS} ms unrecorded warm-up), gateway and bare fastify alternating AB BA; ` +
        'both servers in their own process; value: median req/s over the windows';
      const invalid = [...gatewayWindows, ...bareWindows].flatMap(({ result: r }) =>
        r.valid ? [] : [r.invalidReason],
      );
      const validity = invalid.length ? { valid: false, invalidReason: invalid.join('; ') } : {};
      const bare = await recordWindows('inference.http.bare_fastify', bareWindows, bareRps, {
        method: `${method}: bare fastify 5 GET /health`,
        validity,
      });
      const ratio = invalid.length
        ? undefined
        : pairedRatio(gatewayRps, bareRps, { resamples: profile().resamples });
      await recordWindows('inference.http.health', gatewayWindows, gatewayRps, {
        method: `${method}: gateway GET /health; ratio: median over pairs of gateway / bare, ci95 by bootstrap over pairs`,
        validity,
        reference: {
          id: 'inference.http.bare_fastify.throughput',
          value: bare,
          ...(ratio ? { ratio: ratio.value, ratioCi95: ratio.ci95, pairs: ratio.n } : {}),
        },
      });
      const models = await httpLoad({
        url: `${v1}/models`,
        connections: 10,
        durationMs: profile().durationMs,
        warmupMs: WINDOW_WARMUP_MS,
      });
      await recordHttpLoad('inference.http.models', models, {
        method:
          '10 connections, gateway in its own process: GET /v1/models (one window, not paired with the reference)',
        reference: { id: 'inference.http.bare_fastify.throughput', value: bare },
      });
      expect(invalid).toEqual([]);
      for (const r of [...gatewayWindows.map((w) => w.result), models]) {
        expect(r.non2xx + r.errors, r.url).toBe(0);
      }
    });
  });

  it('100 concurrent requests: every one succeeds or gets an explicit 429, never a timeout or reset', async () => {
    const n = 100;
    const rounds = Math.max(2, profile().count(2));
    const results: StreamTiming[] = [];
    for (let round = 0; round < rounds; round++) {
      progress(`inference: ${n} concurrent requests, round ${round + 1}/${rounds}`);
      results.push(
        ...(await Promise.all(Array.from({ length: n }, (_, i) => timedStream(v1, chatBody(round * n + i))))),
      );
    }
    const ok = results.filter((r) => r.ok).length;
    const rejected = results.filter((r) => r.status === 429).length;
    const broken = results.filter((r) => !r.ok && r.status !== 429);
    await recordFigure({
      id: 'inference.burst.c100.success_rate',
      value: (100 * ok) / results.length,
      unit: '%',
      better: 'higher',
      n: results.length,
      method: `${rounds} rounds of ${n} streaming chat requests at once (slots 4, queueLimit 256); ${rejected} answered 429, ${broken.length} failed otherwise`,
    });
    const e2e = new LatencyRecorder({ unit: 'ms' });
    for (const r of results) if (r.ok) e2e.record(ns(r.e2eMs));
    if (e2e.n > 0) {
      await recordLatency('inference.burst.c100.e2e', e2e, {
        method: `${n} concurrent streaming chat requests, E2E`,
      });
    }
    expect(broken.map((b) => b.error)).toEqual([]);
  });

  it('100 concurrent requests on a tight gateway (2 slots, queue 8): the overflow gets 429 + Retry-After', async () => {
    const tight = await startSystem(inferenceSystem, {
      provider: 'inprocess',
      options: { engine: 'llama_cpp', slots: 2, queueLimit: 8 },
    });
    try {
      const url = openaiUrls(tight.endpoint).v1;
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          fetch(`${url}/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ ...chatBody(i), model: 'tiny-llama' }),
          }).then(async (res) => ({
            status: res.status,
            retryAfter: res.headers.get('retry-after'),
            body: await res.text(),
          })),
        ),
      );
      const statuses = new Set(results.map((r) => r.status));
      expect([...statuses].sort()).toEqual([200, 429]);
      const ok = results.filter((r) => r.status === 200).length;
      expect(ok).toBeGreaterThanOrEqual(10);
      for (const r of results.filter((x) => x.status === 429)) {
        expect(r.retryAfter).toBe('1');
        expect((JSON.parse(r.body) as { error: { type: string } }).error.type).toBe('rate_limit_error');
      }
    } finally {
      await tight.stop();
    }
  });
});
