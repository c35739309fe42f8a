// Inference latency: /health response time; tokens/s, TTFT, ITL and TPOT for short, medium and
// long generations (`vllm bench serve` definitions); gateway overhead against calling the same
// llama.cpp engine directly in this process, in the same run. Runs against our gateway (child
// process, generated tiny model) or `--target inference=http://host:port/v1`.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closedLoop,
  interleaved,
  LatencyRecorder,
  pairedDifference,
  profile,
  progress,
  recordFigure,
  recordLatency,
  summarize,
  useSystem,
} from '../../harness/index.ts';
import {
  defaultThreads,
  ensureTinyModel,
  inferenceSystem,
  LlamaCppEngine,
  openaiUrls,
  type StreamTiming,
  timedStream,
} from '../../systems/inference/index.ts';

const sys = useSystem(inferenceSystem, { options: { engine: 'llama_cpp', slots: 4 } });
let v1 = '';
let root = '';
let model = '';
let ours = false;

beforeAll(async () => {
  ({ v1, root } = openaiUrls(sys().endpoint));
  ours = sys().provider !== 'external';
  const models = (await (await fetch(`${v1}/models`)).json()) as { data: Array<{ id: string }> };
  model = models.data[0]?.id ?? '';
});

const ms = (x: number) => Math.round(x * 1e6);

describe('inference latency', () => {
  it('GET /health response time (closed loop, 1 connection)', async () => {
    const r = await closedLoop({
      concurrency: 1,
      durationMs: profile().durationMs,
      warmupMs: profile().warmupMs,
      unit: 'us',
      label: 'inference /health',
      op: async () => {
        const res = await fetch(`${root}/health`);
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      },
    });
    await recordLatency('inference.health.latency', r.latency, {
      method: 'sequential GET /health over a keep-alive fetch connection, from the test process',
    });
    expect(r.errorSamples).toEqual([]);
  });

  // Short generations are many (enough samples for valid percentiles); long ones few, but each
  // gives hundreds of ITL samples. Counts scale with the profile.
  const SIZES = [
    ['short', 16, () => profile().minSamples],
    ['medium', 64, () => profile().count(24)],
    ['long', 256, () => profile().count(8)],
  ] as const;

  for (const [size, maxTokens, count] of SIZES) {
    it(`tokens/s, TTFT, ITL, TPOT for ${size} generations (max_tokens ${maxTokens})`, async () => {
      const n = count();
      const timings: StreamTiming[] = [];
      const failures: string[] = [];
      for (let i = 0; i < n; i++) {
        if (i % 20 === 0) progress(`inference ${size} generation ${i + 1}/${n}`);
        const t = await timedStream(v1, {
          model,
          messages: [{ role: 'user', content: `Tell a ${size} story about the sky, number ${i}.` }],
          max_tokens: maxTokens,
          temperature: 1,
          seed: i,
        });
        if (t.ok) timings.push(t);
        else failures.push(`request ${i}: ${t.error ?? `HTTP ${t.status}`}`);
      }
      const rates = timings.filter((t) => t.outputTokens > 1).map((t) => t.outputTokens / (t.e2eMs / 1000));
      const ttft = new LatencyRecorder({ unit: 'ms' });
      const itl = new LatencyRecorder({ unit: 'ms' });
      const tpot = new LatencyRecorder({ unit: 'ms' });
      const e2e = new LatencyRecorder({ unit: 'ms' });
      for (const t of timings) {
        if (t.ttftMs !== undefined) ttft.record(ms(t.ttftMs));
        for (const g of t.itlMs) itl.record(ms(g));
        if (t.tpotMs !== undefined) tpot.record(ms(t.tpotMs));
        e2e.record(ms(t.e2eMs));
      }
      const method = `${n} sequential streaming chat requests, max_tokens ${maxTokens}, temperature 1`;
      if (rates.length > 0) {
        const stats = summarize(rates, { statistic: 'p50', resamples: profile().resamples });
        await recordFigure({
          id: `inference.generate.${size}.output_rate`,
          value: stats.p50,
          unit: 'tok/s',
          better: 'higher',
          n: rates.length,
          stats,
          method: `${method}; per request output tokens / E2E`,
        });
      }
      if (ttft.n > 0)
        await recordLatency(`inference.generate.${size}.ttft`, ttft, {
          method: `${method}; TTFT = first content chunk - send`,
        });
      if (e2e.n > 0) await recordLatency(`inference.generate.${size}.e2e`, e2e, { method });
      if (itl.n > 0)
        await recordLatency(`inference.generate.${size}.itl`, itl, {
          method: `${method}; gaps between content chunks`,
        });
      if (tpot.n > 0) {
        await recordLatency(`inference.generate.${size}.tpot`, tpot, {
          method: `${method}; (E2E - TTFT) / (tokens - 1)`,
        });
      }
      expect(failures).toEqual([]);
    });
  }

  describe('gateway overhead over the same engine called directly', () => {
    let direct: LlamaCppEngine | undefined;
    // One keep-alive connection, as a gateway's client would hold: no TCP handshake in the pairs.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    beforeAll(async () => {
      if (!ours) return;
      direct = new LlamaCppEngine({
        modelPath: await ensureTinyModel(),
        modelId: 'direct',
        // The same context shape as the gateway under test (4 sequences), so only the gateway differs.
        slots: 4,
        threads: defaultThreads(),
        contextSize: 512,
        gpu: 'cpu',
      });
      await direct.load();
    });
    afterAll(async () => {
      agent.destroy();
      await direct?.close();
    });

    it('completion: median of paired differences, gateway (HTTP) - engine in process, ABBA', async (ctx) => {
      if (!ours || !direct)
        return ctx.skip('needs our own gateway on the generated model (not an external target)');
      const engine = direct;
      const maxTokens = 8;
      const prompt = (i: number) => `Pair ${i}: the sky is blue and the sun`;
      const texts = new Map<number, string>();
      let mismatches = 0;
      /** Same prompt, seed and greedy settings on both sides; each side's text is checked against the other's. */
      const check = (i: number, text: string) => {
        const other = texts.get(i);
        if (other === undefined) texts.set(i, text);
        else {
          if (other !== text) mismatches++;
          texts.delete(i);
        }
      };
      const viaGateway = async (i: number) => {
        const t0 = performance.now();
        const { status, body } = await postJson(agent, `${v1}/completions`, {
          model,
          prompt: prompt(i),
          max_tokens: maxTokens,
          temperature: 0,
          seed: i,
        });
        const elapsed = performance.now() - t0;
        if (status !== 200) throw new Error(`gateway answered ${status}: ${body.slice(0, 200)}`);
        check(i, (JSON.parse(body) as { choices: Array<{ text: string }> }).choices[0]?.text ?? '');
        return elapsed;
      };
      const viaEngine = async (i: number) => {
        const t0 = performance.now();
        const result = await engine.generate({
          model: 'direct',
          prompt: prompt(i),
          maxTokens,
          temperature: 0,
          seed: i,
          stop: [],
          signal: new AbortController().signal,
          onText: () => undefined,
        });
        const elapsed = performance.now() - t0;
        check(i, result.text);
        return elapsed;
      };
      // Unrecorded warm-up pairs: JIT, the keep-alive connection, both engines' first batches.
      for (let i = 0; i < 10; i++) {
        await viaEngine(-1 - i);
        await viaGateway(-1 - i);
      }
      const pairs = Math.max(profile().minSamples, profile().count(60));
      const { a: gateway, b: inProcess } = await interleaved({
        windows: pairs,
        a: viaGateway,
        b: viaEngine,
        label: 'inference overhead',
      });
      const gw = new LatencyRecorder({ unit: 'ms' });
      const dir = new LatencyRecorder({ unit: 'ms' });
      for (const x of gateway) gw.record(ms(x));
      for (const x of inProcess) dir.record(ms(x));
      const how = `${maxTokens} tokens greedy, the same prompt and seed as its pair partner, ${pairs} pairs in ABBA order`;
      await recordLatency('inference.completion.direct.e2e', dir, {
        method: `LlamaCppEngine.generate in the test process, ${how}`,
      });
      await recordLatency('inference.completion.gateway.e2e', gw, {
        method: `POST /v1/completions (non-stream) to the gateway child process over one keep-alive connection (node:http Agent), ${how}`,
        referenceRecorder: { prefix: 'inference.completion.direct.e2e', recorder: dir },
      });
      const overhead = pairedDifference(gateway, inProcess, { resamples: profile().resamples });
      await recordFigure({
        id: 'inference.gateway.overhead.p50',
        value: overhead.value,
        unit: 'ms',
        better: 'lower',
        scale: 'linear',
        n: overhead.n,
        stats: overhead.stats,
        method:
          `median over pairs of (gateway E2E - in-process engine E2E), ${how}; gateway: POST /v1/completions ` +
          'over one keep-alive node:http connection to the gateway child process; ci95: percentile bootstrap over pairs',
      });
      expect(mismatches, 'gateway and engine texts differ for the same prompt and seed').toBe(0);
    });
  });
});

/** POST a JSON body on `agent` (keep-alive) and read the whole answer. */
function postJson(agent: http.Agent, url: string, body: unknown): Promise<{ status: number; body: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
