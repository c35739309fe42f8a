// Inference latency: /health response time; tokens/s, TTFT, ITL and TPOT for short, medium and
// long generations (`vllm bench serve` definitions); gateway overhead against calling the same
// llama.cpp engine directly in this process, in the same run. Runs against our gateway (child
// process, generated tiny model) or `--target inference=http://host:port/v1`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closedLoop,
  LatencyRecorder,
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
  LlamaCppEngine,
  openaiUrls,
  type StreamTiming,
  timedStream,
} from '../../systems/inference/index.ts';

const sys = useSystem('inference', { options: { engine: 'llama_cpp', slots: 4 } });
let v1 = '';
let root = '';
let model = '';
let ours = false;

beforeAll(async () => {
  ({ v1, root } = openaiUrls(sys().endpoint as string));
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
    expect(r.errors).toBe(0);
    await recordLatency('inference.health.latency', r.latency, {
      method: 'sequential GET /health over a keep-alive fetch connection, from the test process',
    });
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
      for (let i = 0; i < n; i++) {
        if (i % 20 === 0) progress(`inference ${size} generation ${i + 1}/${n}`);
        const t = await timedStream(v1, {
          model,
          messages: [{ role: 'user', content: `Tell a ${size} story about the sky, number ${i}.` }],
          max_tokens: maxTokens,
          temperature: 1,
          seed: i,
        });
        expect(t.ok, t.error).toBe(true);
        timings.push(t);
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
      await recordLatency(`inference.generate.${size}.ttft`, ttft, {
        method: `${method}; TTFT = first content chunk - send`,
      });
      await recordLatency(`inference.generate.${size}.e2e`, e2e, { method });
      if (itl.n > 0)
        await recordLatency(`inference.generate.${size}.itl`, itl, {
          method: `${method}; gaps between content chunks`,
        });
      if (tpot.n > 0) {
        await recordLatency(`inference.generate.${size}.tpot`, tpot, {
          method: `${method}; (E2E - TTFT) / (tokens - 1)`,
        });
      }
    });
  }

  describe('gateway overhead over the same engine called directly', () => {
    let direct: LlamaCppEngine | undefined;
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
      await direct?.close();
    });

    it('completion p50: HTTP gateway vs in-process engine, interleaved', async (ctx) => {
      if (!ours || !direct)
        return ctx.skip('needs our own gateway on the generated model (not an external target)');
      const engine = direct;
      const prompt = 'The sky is blue and the sun';
      const maxTokens = 8;
      const viaGateway = async () => {
        const res = await fetch(`${v1}/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model, prompt, max_tokens: maxTokens, temperature: 0 }),
        });
        const body = (await res.json()) as { choices: Array<{ text: string }> };
        return body.choices[0]?.text ?? '';
      };
      const viaEngine = async () =>
        (
          await engine.generate({
            model: 'direct',
            prompt,
            maxTokens,
            temperature: 0,
            stop: [],
            signal: new AbortController().signal,
            onText: () => undefined,
          })
        ).text;
      // Same model, same greedy settings: the gateway must return exactly what the engine does.
      expect(await viaGateway()).toBe(await viaEngine());
      const gw = new LatencyRecorder({ unit: 'ms' });
      const dir = new LatencyRecorder({ unit: 'ms' });
      const n = Math.max(profile().minSamples, profile().count(60));
      for (let i = 0; i < n; i++) {
        if (i % 50 === 0) progress(`inference overhead pair ${i}/${n}`);
        await dir.time(viaEngine);
        await gw.time(viaGateway);
      }
      await recordLatency('inference.completion.direct.e2e', dir, {
        method: `LlamaCppEngine.generate in the test process, ${maxTokens} tokens greedy, interleaved with the gateway`,
      });
      await recordLatency('inference.completion.gateway.e2e', gw, {
        method: `POST /v1/completions (non-stream) to the gateway child process, ${maxTokens} tokens greedy, interleaved with direct calls`,
        referenceRecorder: { prefix: 'inference.completion.direct.e2e', recorder: dir },
      });
      const g50 = gw.stats('p50');
      const d50 = dir.stats('p50');
      await recordFigure({
        id: 'inference.gateway.overhead.p50',
        value: g50.p50 - d50.p50,
        unit: 'ms',
        better: 'lower',
        n: Math.min(g50.n, d50.n),
        method:
          'p50 of gateway completion E2E minus p50 of the same engine called directly, same model, same run',
      });
    });
  });
});
