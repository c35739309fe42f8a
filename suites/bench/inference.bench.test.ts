// Inference benchmark matrix (bench/nightly profiles only): output tokens/s, TTFT and E2E of the
// gateway on the generated model across slots (sequences of the one llama.cpp context) x client
// concurrency, and across llama.cpp thread counts. Each gateway runs as its own child process.
// Every step's figures (error rates included) are recorded before any assertion can stop the test.
import { describe, expect, it } from 'vitest';
import {
  closedLoop,
  LatencyRecorder,
  profile,
  recordFigure,
  recordLatency,
  recordLoad,
  type SystemOptions,
  startSystem,
} from '../../harness/index.ts';
import { inferenceSystem, openaiUrls, timedStream } from '../../systems/inference/index.ts';

const MAX_TOKENS = 32;

async function withGateway<T>(
  options: SystemOptions<typeof inferenceSystem>,
  fn: (v1: string) => Promise<T>,
): Promise<T> {
  const sys = await startSystem(inferenceSystem, {
    provider: 'process',
    options: { engine: 'llama_cpp', queueLimit: 4096, ...options },
  });
  try {
    return await fn(openaiUrls(sys.endpoint).v1);
  } finally {
    await sys.stop();
  }
}

async function measure(
  v1: string,
  prefix: string,
  concurrency: number,
  method: string,
  count = Math.max(profile().minSamples, profile().count(concurrency * 2)),
): Promise<string[]> {
  const ttft = new LatencyRecorder({ unit: 'ms' });
  let tokens = 0;
  let seq = 0;
  const r = await closedLoop({
    concurrency,
    count,
    unit: 'ms',
    label: prefix,
    op: async () => {
      const i = seq++;
      const t = await timedStream(v1, {
        model: 'tiny-llama',
        messages: [{ role: 'user', content: `Benchmark request ${i}.` }],
        max_tokens: MAX_TOKENS,
        temperature: 1,
        seed: i,
      });
      if (!t.ok) throw new Error(t.error ?? `HTTP ${t.status}`);
      if (t.ttftMs !== undefined) ttft.record(Math.round(t.ttftMs * 1e6));
      tokens += t.outputTokens;
    },
  });
  await recordLoad(`${prefix}.e2e`, r, { method, unit: 'req/s' });
  if (ttft.n > 0) await recordLatency(`${prefix}.ttft`, ttft, { method: `${method}; TTFT` });
  await recordFigure({
    id: `${prefix}.output_rate`,
    value: tokens / (r.throughput.elapsedMs / 1000),
    unit: 'tok/s',
    better: 'higher',
    n: r.completed,
    method: `${method}; output tokens over the run`,
    ...(r.valid ? {} : { valid: false, invalidReason: r.invalidReason ?? 'invalid run' }),
  });
  return r.errorSamples.map((e) => `${prefix}: ${e}`);
}

describe('inference benchmark matrix', () => {
  for (const slots of [1, 2, 4, 8]) {
    it(`slots ${slots} x concurrency 1, 4, 16, 64`, async () => {
      const errors: string[] = [];
      await withGateway({ slots }, async (v1) => {
        for (const concurrency of [1, 4, 16, 64]) {
          errors.push(
            ...(await measure(
              v1,
              `inference.bench.slots${slots}.c${concurrency}`,
              concurrency,
              `closed loop, ${concurrency} clients, gateway with ${slots} slots, streaming chat max_tokens ${MAX_TOKENS}`,
            )),
          );
        }
      });
      // Every step is recorded (error rates included) before anything is asserted.
      expect(errors).toEqual([]);
    });
  }

  for (const threads of [1, 2]) {
    it(`llama.cpp threads ${threads} (slots 4, concurrency 16)`, async () => {
      const errors = await withGateway({ slots: 4, threads }, (v1) =>
        measure(
          v1,
          `inference.bench.threads${threads}.c16`,
          16,
          `closed loop, 16 clients, 4 slots, ${threads} llama.cpp threads, streaming chat max_tokens ${MAX_TOKENS}`,
          // Few requests: with 2 threads on a 2-core machine llama.cpp can drop to tens of tok/s.
          profile().count(10),
        ),
      );
      expect(errors).toEqual([]);
    });
  }
});
