// The gateway's llama_cpp engine against llama.cpp's own llama-server on the same footing, in one
// run: the same generated model, threads, slots and per-slot context; closed-loop clients asking
// for streaming chat completions of MAX_TOKENS tokens; windows alternating gateway and
// llama-server (AB BA ...), so that drift in the machine's load falls on both. The reference is an
// external llama-server (`--target llama-server=URL`) or a local binary (LLAMA_SERVER_BIN) that
// this file starts; without either, the gateway's figures are recorded without a reference.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTinyModel } from '../../fixtures/models/index.ts';
import {
  interleaved,
  LatencyRecorder,
  pairedRatio,
  profile,
  progress,
  recordFigure,
  recordLatency,
  type StartedRemote,
  type StartedSystem,
  startSystem,
  summarize,
} from '../../harness/index.ts';
import { defaultThreads } from '../../systems/inference/config.ts';
import { inferenceSystem, openaiUrls, timedStream } from '../../systems/inference/index.ts';
import {
  type LlamaServerShape,
  resolveLlamaServerPeer,
  startLlamaServer,
} from '../../systems/inference/peer.ts';

const MAX_TOKENS = 64;
const CONCURRENCY = [1, 4, 8] as const;
const SLOTS = 4;
const CONTEXT = 512;
const THREADS = defaultThreads();

interface Side {
  name: string;
  v1: string;
  model: string;
  e2e: LatencyRecorder;
  ttft: LatencyRecorder;
  tokens: number;
  requests: number;
  failures: string[];
  /** Requests sent again after a stale keep-alive connection (see timedStream). */
  retries: number;
}

const peer = resolveLlamaServerPeer();
let gateway: StartedSystem | undefined;
let started: StartedRemote<'process'> | undefined;
let ours: Side | undefined;
let reference: Side | undefined;

async function modelOf(v1: string): Promise<string> {
  const res = await fetch(`${v1}/models`);
  const body = (await res.json()) as { data?: Array<{ id: string }> };
  const id = body.data?.[0]?.id;
  if (!id) throw new Error(`${v1}/models lists no model`);
  return id;
}

const side = (name: string, v1: string, model: string): Side => ({
  name,
  v1,
  model,
  e2e: new LatencyRecorder({ unit: 'ms' }),
  ttft: new LatencyRecorder({ unit: 'ms' }),
  tokens: 0,
  requests: 0,
  failures: [],
  retries: 0,
});

beforeAll(async () => {
  const modelPath = await ensureTinyModel();
  gateway = await startSystem(inferenceSystem, {
    provider: 'process',
    options: { engine: 'llama_cpp', slots: SLOTS, threads: THREADS, contextSize: CONTEXT, queueLimit: 256 },
  });
  const gw = openaiUrls(gateway.endpoint ?? '');
  ours = side('gateway', gw.v1, await modelOf(gw.v1));
  if (peer.kind === 'binary') {
    const shape: LlamaServerShape = {
      modelPath,
      modelId: ours.model,
      threads: THREADS,
      slots: SLOTS,
      contextSize: CONTEXT,
    };
    started = await startLlamaServer(peer.bin, shape);
    const v1 = openaiUrls(started.endpoint).v1;
    reference = side('llama-server', v1, await modelOf(v1));
  } else if (peer.kind === 'target') {
    const v1 = `${peer.root}/v1`;
    reference = side('llama-server', v1, await modelOf(v1));
  }
}, 120_000);

afterAll(async () => {
  await started?.stop();
  await gateway?.stop();
});

let seq = 0;

/** Fresh recorders for the next concurrency level. */
function reset(s: Side): void {
  s.e2e = new LatencyRecorder({ unit: 'ms' });
  s.ttft = new LatencyRecorder({ unit: 'ms' });
  s.tokens = 0;
  s.requests = 0;
  s.failures = [];
  s.retries = 0;
}

/** One window: `concurrency` closed-loop clients for `ms`; returns output tokens per second. */
async function window(s: Side, concurrency: number, ms: number, record: boolean): Promise<number> {
  const end = performance.now() + ms;
  let tokens = 0;
  const t0 = performance.now();
  const client = async () => {
    while (performance.now() < end) {
      const i = seq++;
      const t = await timedStream(s.v1, {
        model: s.model,
        messages: [{ role: 'user', content: `Benchmark request ${i}: say something.` }],
        max_tokens: MAX_TOKENS,
        temperature: 1,
        seed: i,
      });
      if (!t.ok) {
        if (record) s.failures.push(t.error ?? `HTTP ${t.status}`);
        continue;
      }
      tokens += t.outputTokens;
      if (!record) continue;
      s.retries += t.retried;
      s.tokens += t.outputTokens;
      s.requests++;
      s.e2e.record(Math.round(t.e2eMs * 1e6));
      if (t.ttftMs !== undefined) s.ttft.record(Math.round(t.ttftMs * 1e6));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return tokens / ((performance.now() - t0) / 1000);
}

/** `pairs` windows of the gateway alone (no peer to alternate with). */
async function soloWindows(s: Side, concurrency: number, ms: number, pairs: number): Promise<number[]> {
  const rates: number[] = [];
  for (let w = 0; w < pairs; w++) {
    progress(`inference engine c${concurrency}: window ${w + 1}/${pairs} (no reference)`);
    rates.push(await window(s, concurrency, ms, true));
  }
  return rates;
}

/** A tokens/s figure: the median window rate with its interval; returns the median. */
async function recordRate(
  id: string,
  rates: number[],
  requests: number,
  method: string,
  reference?: { id: string; value: number; ratio: number; ratioCi95: [number, number]; pairs: number },
): Promise<number> {
  const stats = summarize(rates, { statistic: 'p50', resamples: profile().resamples });
  await recordFigure({
    id,
    value: stats.p50,
    unit: 'tok/s',
    better: 'higher',
    n: requests,
    stats,
    method: `${method}; median over ${rates.length} windows`,
    ...(reference ? { reference } : {}),
  });
  return stats.p50;
}

const shapeText = `${SLOTS} slots, ${THREADS} thread(s), ${CONTEXT} tokens of context per slot, the generated tiny model`;
const requestText = `streaming chat completions, max_tokens ${MAX_TOKENS}, temperature 1, a distinct prompt and seed per request`;

describe('inference engine: gateway against llama-server on the same model, threads and slots', () => {
  for (const concurrency of CONCURRENCY) {
    it(`${concurrency} concurrent clients: output tokens/s in interleaved windows`, async () => {
      const gw = ours as Side;
      const ref = reference;
      const windowMs = Math.max(2_000, profile().durationMs);
      // Enough windows that the slowest side (1 client) gives the profile's minimum of requests.
      const pairs = profile().scale >= 10 ? 8 : 5;
      // Unrecorded warm-up of each server: JIT, connections, the first batches.
      for (const s of ref ? [gw, ref] : [gw])
        await window(s, concurrency, Math.max(500, profile().warmupMs), false);
      for (const s of ref ? [gw, ref] : [gw]) reset(s);
      const prefix = `inference.engine.c${concurrency}`;
      const method = `closed loop, ${concurrency} clients, ${requestText}; ${shapeText}; windows of ${windowMs} ms`;
      const where =
        peer.kind === 'target'
          ? `llama-server at ${peer.root}`
          : peer.kind === 'binary'
            ? 'llama-server started from LLAMA_SERVER_BIN'
            : peer.reason;
      // With a peer, windows alternate AB BA ...; without one, the gateway's windows run alone.
      const { a, b } = ref
        ? await interleaved({
            windows: pairs,
            a: () => window(gw, concurrency, windowMs, true),
            b: () => window(ref, concurrency, windowMs, true),
            label: `inference engine c${concurrency}: gateway vs llama-server`,
          })
        : { a: await soloWindows(gw, concurrency, windowMs, pairs), b: [] };
      const refId = `inference.engine.llama_server.c${concurrency}.output_rate`;
      const ratio = ref ? pairedRatio(a, b, { resamples: profile().resamples }) : undefined;
      const refValue = ref ? await recordRate(refId, b, ref.requests, `${method}; ${where}`) : undefined;
      await recordRate(
        `${prefix}.output_rate`,
        a,
        gw.requests,
        ref
          ? `${method}; alternating with ${where} (AB BA ...); ratio: median over pairs of gateway / llama-server, ci95 by bootstrap over pairs`
          : `${method}; ${where}`,
        ratio && refValue !== undefined
          ? { id: refId, value: refValue, ratio: ratio.value, ratioCi95: ratio.ci95, pairs: ratio.n }
          : undefined,
      );
      for (const s of ref ? [gw, ref] : [gw]) {
        const key = s === gw ? prefix : `inference.engine.llama_server.c${concurrency}`;
        await recordLatency(`${key}.e2e`, s.e2e, {
          method: `${method}; ${s.name}; end to end per request; ${s.retries} request(s) sent again after a stale keep-alive connection`,
        });
        if (s.ttft.n > 0)
          await recordLatency(`${key}.ttft`, s.ttft, {
            method: `${method}; ${s.name}; time to first content chunk`,
          });
      }
      // The ratio as a figure of its own, present only when a peer ran: the thresholds judge it
      // (a rule on output_rate would have nothing to judge in a run without a peer).
      if (ref && ratio)
        await recordFigure({
          id: `${prefix}.output_rate_vs_llama_server`,
          value: ratio.value,
          unit: 'x',
          better: 'higher',
          scale: 'linear',
          n: Math.min(gw.requests, ref.requests),
          stats: ratio.stats,
          method: `gateway output tokens/s over ${where}'s in the same windows: median over ${ratio.n} pairs of per-pair ratios, ci95 by bootstrap over pairs, n the requests of the side with fewer; ${method}`,
        });
      // Every figure is recorded before anything is asserted.
      expect(gw.failures).toEqual([]);
      expect(ref?.failures ?? []).toEqual([]);
    });
  }
});
