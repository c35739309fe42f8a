// OpenAI-compatibility suite: the official `openai` client plus raw HTTP where the client hides
// the wire. Runs against our gateway (llama_cpp on the generated model, and the dummy engine), or
// against any server given with `--target inference=http://host:port/v1`, and against llama.cpp's
// own server image where Docker answers. A check a server does not support is reported as such
// (skipped with the reason, Allure parameter `conformance`), so the file is a conformance report;
// our own gateway must pass every check it claims.
import * as allure from 'allure-js-commons';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFigure, type StartedRemote, type SystemStarted, useSystem } from '../../harness/index.ts';
import { ensureTinyModel, inferenceSystem, openaiUrls } from '../../systems/inference/index.ts';
import { resolveLlamaServerPeer, startLlamaServer } from '../../systems/inference/peer.ts';

/** What a check needs of a started server (a system the harness started, or a peer process). */
type Gateway = Pick<SystemStarted<typeof inferenceSystem>, 'endpoint' | 'provider'>;

type Outcome = { state: 'passed' } | { state: 'unsupported'; reason: string };
const PASS: Outcome = { state: 'passed' };
const unsupported = (reason: string): Outcome => ({ state: 'unsupported', reason });

/**
 * Why a check did not pass, so that a conformance figure names its causes: the server's wire is
 * wrong (a shape, a status), the engine failed to generate (5xx on a valid generation request:
 * often the model, not the server's API), or the server does not offer the feature.
 */
type Verdict = 'passed' | 'wire' | 'engine_error' | 'unsupported';

interface Env {
  client: OpenAI;
  v1: string;
  model: string;
  /** Our own gateway: stricter checks (all four error keys, 405/413 exactly). */
  ours: boolean;
  /** 5xx answers to valid generation requests during the running check. */
  engineErrors: string[];
}

interface ErrorBody {
  error?: { message?: unknown; type?: unknown; param?: unknown; code?: unknown };
}

interface ChunkWire {
  id: string;
  object: string;
  choices: Array<{
    index: number;
    delta: { role?: string; content?: string | null };
    finish_reason: string | null;
  }>;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}

/** The env of the running check, so that raw requests can note engine errors. */
let current: Env | undefined;

const isGeneration = (body: unknown) =>
  typeof body === 'object' && body !== null && ('messages' in body || 'prompt' in body);

async function post(url: string, body: unknown): Promise<Response> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer none' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  if (res.status >= 500 && isGeneration(body) && current) {
    const text = await res.clone().text();
    current.engineErrors.push(`HTTP ${res.status} on ${new URL(url).pathname}: ${text.slice(0, 160)}`);
  }
  return res;
}

/** Sorts a failed check: an engine error when the server answered 5xx to a valid generation. */
function classify(error: unknown, env: Env): { verdict: Verdict; reason: string } {
  const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
  if (error instanceof OpenAI.APIError && (error.status ?? 0) >= 500) {
    return { verdict: 'engine_error', reason: `HTTP ${error.status}: ${message}`.slice(0, 200) };
  }
  // The client raises an error event inside a stream as an APIError without a status.
  if (error instanceof OpenAI.APIError && error.status === undefined && error.error) {
    return { verdict: 'engine_error', reason: `error event in the stream: ${message}`.slice(0, 200) };
  }
  if (env.engineErrors.length > 0) return { verdict: 'engine_error', reason: env.engineErrors[0] ?? '' };
  return { verdict: 'wire', reason: message.slice(0, 200) };
}

async function events(res: Response): Promise<string[]> {
  const text = await res.text();
  const data = text
    .split(/\r?\n\r?\n/)
    .map((e) => e.trim())
    .filter((e) => e.startsWith('data:'))
    .map((e) => e.slice(5).trim());
  // An error event in a 200 stream is the engine failing mid-generation (llama.cpp's server
  // sends `{"error":{"code":500,...}}` there): noted, so the check's failure is classed by it.
  for (const e of data) {
    if (!e.startsWith('{"error"')) continue;
    const err = (JSON.parse(e) as ErrorBody).error;
    if (current && (Number(err?.code) >= 500 || err?.type === 'server_error')) {
      current.engineErrors.push(`error event in the stream: ${String(err?.message ?? e).slice(0, 160)}`);
    }
  }
  return data;
}

async function expectErrorShape(res: Response, ours: boolean): Promise<ErrorBody['error']> {
  const body = (await res.json().catch(() => ({}))) as ErrorBody;
  expect(body.error, 'body has an `error` object').toBeTypeOf('object');
  expect(body.error?.message).toBeTypeOf('string');
  if (ours) expect(Object.keys(body.error ?? {}).sort()).toEqual(['code', 'message', 'param', 'type']);
  return body.error;
}

const messages = [{ role: 'user' as const, content: 'Say hello to the test rig.' }];

/** The checks, in report order. Each passes, throws (a failure), or says the server lacks it. */
const CHECKS: Array<{ name: string; run(env: Env): Promise<Outcome> }> = [
  {
    name: 'models.list returns a list of model objects',
    async run({ client }) {
      const page = await client.models.list();
      expect(page.data.length).toBeGreaterThan(0);
      for (const m of page.data) {
        expect(m.id).toBeTypeOf('string');
        expect(m.object).toBe('model');
      }
      return PASS;
    },
  },
  {
    name: 'chat completion (non-stream) has the chat.completion shape and usage',
    async run({ client, model }) {
      const r = await client.chat.completions.create({ model, messages, max_tokens: 8 });
      expect(r.object).toBe('chat.completion');
      expect(r.id).toBeTypeOf('string');
      expect(r.created).toBeTypeOf('number');
      expect(r.choices[0]?.index).toBe(0);
      expect(r.choices[0]?.message.role).toBe('assistant');
      expect(r.choices[0]?.message.content).toBeTypeOf('string');
      expect(['stop', 'length']).toContain(r.choices[0]?.finish_reason);
      expect(r.usage?.total_tokens).toBe((r.usage?.prompt_tokens ?? 0) + (r.usage?.completion_tokens ?? 0));
      return PASS;
    },
  },
  {
    name: 'chat stream through the openai client yields chunks and ends',
    async run({ client, model }) {
      const stream = await client.chat.completions.create({ model, messages, max_tokens: 8, stream: true });
      let n = 0;
      let finish: string | null | undefined;
      for await (const c of stream) {
        n++;
        expect(c.object).toBe('chat.completion.chunk');
        finish = c.choices[0]?.finish_reason ?? finish;
      }
      expect(n).toBeGreaterThan(1);
      expect(['stop', 'length']).toContain(finish);
      return PASS;
    },
  },
  {
    name: 'chat stream wire: one id, role first, no role later, finish chunk, [DONE] last',
    async run({ v1, model }) {
      const res = await post(`${v1}/chat/completions`, { model, messages, max_tokens: 8, stream: true });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type') ?? '').toMatch(/^text\/event-stream/);
      const ev = await events(res);
      expect(ev.at(-1)).toBe('[DONE]');
      const chunks = ev.slice(0, -1).map((e) => JSON.parse(e) as ChunkWire);
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
      for (const c of chunks) expect(c.object).toBe('chat.completion.chunk');
      expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
      for (const c of chunks.slice(1)) expect(c.choices[0]?.delta.role).toBeUndefined();
      const finishes = chunks.filter((c) => c.choices[0]?.finish_reason);
      expect(finishes).toHaveLength(1);
      return PASS;
    },
  },
  {
    name: 'stream_options.include_usage adds one usage-only chunk (choices []) before [DONE]',
    async run({ v1, model }) {
      const res = await post(`${v1}/chat/completions`, {
        model,
        messages,
        max_tokens: 8,
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks = (await events(res)).slice(0, -1).map((e) => JSON.parse(e) as ChunkWire);
      const last = chunks.at(-1);
      if (!last?.usage) return unsupported('no usage chunk with stream_options.include_usage');
      expect(last.choices).toEqual([]);
      expect(last.usage.completion_tokens).toBeGreaterThan(0);
      for (const c of chunks.slice(0, -1)) expect(c.usage ?? null).toBeNull();
      return PASS;
    },
  },
  {
    name: 'completions (legacy) answer text_completion, streaming and not',
    async run({ client, model }) {
      const r = await client.completions.create({ model, prompt: 'The sky is', max_tokens: 6 });
      expect(r.object).toBe('text_completion');
      expect(r.choices[0]?.text).toBeTypeOf('string');
      const stream = await client.completions.create({
        model,
        prompt: 'The sky is',
        max_tokens: 6,
        stream: true,
      });
      let n = 0;
      for await (const c of stream) {
        n++;
        expect(c.object).toBe('text_completion');
      }
      expect(n).toBeGreaterThan(0);
      return PASS;
    },
  },
  {
    name: 'max_tokens and max_completion_tokens are honoured (finish_reason length)',
    async run({ client, model }) {
      for (const key of ['max_tokens', 'max_completion_tokens'] as const) {
        const r = await client.chat.completions.create({ model, messages, [key]: 2, temperature: 0 });
        const used = r.usage?.completion_tokens ?? 0;
        expect(used).toBeLessThanOrEqual(2);
        if (used === 2) expect(r.choices[0]?.finish_reason).toBe('length');
      }
      return PASS;
    },
  },
  {
    name: 'stop sequences end the text before the stop string',
    async run({ client, model }) {
      const base = { model, messages, max_tokens: 24, temperature: 0, seed: 1 };
      const full = (await client.chat.completions.create(base)).choices[0]?.message.content ?? '';
      const candidates = [...full.slice(2)].filter((ch) => /[a-z ]/i.test(ch));
      const stop = candidates[0];
      if (!stop)
        return unsupported(`the model's greedy text has no usable stop character (${JSON.stringify(full)})`);
      const r = await client.chat.completions.create({ ...base, stop: [stop] });
      const text = r.choices[0]?.message.content ?? '';
      expect(text.includes(stop)).toBe(false);
      expect(r.choices[0]?.finish_reason).toBe('stop');
      expect(full.startsWith(text)).toBe(true);
      return PASS;
    },
  },
  {
    name: 'seed makes sampling deterministic',
    async run({ client, model, ours }) {
      const ask = async () =>
        (
          await client.chat.completions.create({
            model,
            messages,
            max_tokens: 10,
            temperature: 1,
            seed: 1234,
          })
        ).choices[0]?.message.content;
      const [a, b] = [await ask(), await ask()];
      if (a !== b && !ours) return unsupported('the same seed gave different text');
      expect(b).toBe(a);
      return PASS;
    },
  },
  {
    name: 'response_format json_schema is enforced',
    async run({ v1, model }) {
      const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
      const res = await post(`${v1}/chat/completions`, {
        model,
        messages,
        max_tokens: 40,
        response_format: { type: 'json_schema', json_schema: { name: 'check', schema } },
      });
      if (res.status >= 400) {
        const err = (await res.json().catch(() => ({}))) as ErrorBody;
        return unsupported(`HTTP ${res.status}: ${String(err.error?.message ?? '')}`);
      }
      const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
      const parsed = JSON.parse(body.choices[0]?.message.content ?? '') as { ok?: unknown };
      expect(typeof parsed.ok).toBe('boolean');
      return PASS;
    },
  },
  {
    name: 'a bad body gets 400 with an error object',
    async run({ v1, ours }) {
      const res = await post(`${v1}/chat/completions`, '{"model": ');
      expect(res.status).toBe(400);
      await expectErrorShape(res, ours);
      const missing = await post(`${v1}/chat/completions`, { messages });
      expect(missing.status).toBe(400);
      await expectErrorShape(missing, ours);
      return PASS;
    },
  },
  {
    name: 'an unknown model gets 404 with an error object',
    async run({ v1, ours }) {
      const res = await post(`${v1}/chat/completions`, {
        model: 'no-such-model-rig',
        messages,
        max_tokens: 2,
      });
      if (res.status === 200 && !ours) {
        await res.body?.cancel();
        return unsupported('serves any model name (answers 200)');
      }
      expect(res.status).toBe(404);
      await expectErrorShape(res, ours);
      return PASS;
    },
  },
  {
    name: 'an oversize body gets 413 with an error object',
    async run({ v1, model, ours }) {
      const big = 'x'.repeat(8 * 1024 * 1024);
      const res = await post(`${v1}/chat/completions`, {
        model,
        messages: [{ role: 'user', content: big }],
        max_tokens: 1,
      });
      if (res.status !== 413 && !ours) {
        await res.body?.cancel();
        return unsupported(`answers ${res.status} to an 8 MiB body`);
      }
      expect(res.status).toBe(413);
      await expectErrorShape(res, ours);
      return PASS;
    },
  },
  {
    name: 'a wrong method gets 404/405 with an error object',
    async run({ v1, ours }) {
      const res = await fetch(`${v1}/chat/completions`, { method: 'GET' });
      if (ours) expect(res.status).toBe(405);
      else expect([404, 405]).toContain(res.status);
      const body = (await res.json().catch(() => undefined)) as ErrorBody | undefined;
      if (!body?.error && !ours) return unsupported(`answers ${res.status} without an OpenAI error body`);
      await expectErrorShape(new Response(JSON.stringify(body)), ours);
      return PASS;
    },
  },
];

/** Registers every check against one server and records its conformance share as a figure. */
function conformance(
  label: string,
  system: () => Gateway,
  opts: { ours: (s: Gateway) => boolean; expectUnsupported?: string[]; skipReason?: string | undefined },
) {
  const results = new Map<string, { verdict: Verdict; reason: string }>();
  let env: Env | undefined;
  let server = label;
  beforeAll(async () => {
    let s: Gateway;
    try {
      s = system();
    } catch {
      return; // skipped (no Docker): useSystem skips the tests with its reason
    }
    const { v1 } = openaiUrls(s.endpoint);
    const client = new OpenAI({
      baseURL: v1,
      apiKey: process.env.OPENAI_API_KEY ?? 'none',
      maxRetries: 0,
      timeout: 60_000,
    });
    const model = (await client.models.list()).data[0]?.id ?? 'unknown';
    env = { client, v1, model, ours: opts.ours(s), engineErrors: [] };
    if (s.provider === 'external') server = 'external';
  });
  afterAll(async () => {
    if (results.size === 0) return;
    const all = [...results];
    const count = (v: Verdict) => all.filter(([, r]) => r.verdict === v).length;
    const list = (v: Verdict) =>
      all
        .filter(([, r]) => r.verdict === v)
        .map(([name, r]) => `${name} (${r.reason})`)
        .join('; ') || 'none';
    const labels = {
      server,
      endpoint: env?.v1 ?? '',
      wire: list('wire'),
      engine_error: list('engine_error'),
      unsupported: list('unsupported'),
    };
    const method = `share of the ${CHECKS.length} OpenAI-compatibility checks the server passed; a check that did not pass is a wire failure (shape or status), an engine error (5xx on a valid generation request) or unsupported; all three count against it`;
    await recordFigure({
      id: `inference.compat.${server}.conformance`,
      value: (100 * count('passed')) / results.size,
      unit: '%',
      better: 'higher',
      n: results.size,
      method,
      labels,
    });
    for (const verdict of ['wire', 'engine_error', 'unsupported'] as const) {
      await recordFigure({
        id: `inference.compat.${server}.${verdict}`,
        value: count(verdict),
        unit: 'count',
        better: 'lower',
        n: results.size,
        method: `checks whose outcome was ${verdict.replace('_', ' ')}: ${labels[verdict]}`,
        labels: { server },
      });
    }
  });
  for (const check of CHECKS) {
    it(check.name, async (ctx) => {
      if (!env) return ctx.skip(opts.skipReason ?? 'server not started');
      await allure.parameter('server', server);
      env.engineErrors = [];
      current = env;
      let outcome: Outcome;
      try {
        outcome = await check.run(env);
      } catch (error) {
        const failed = classify(error, env);
        results.set(check.name, failed);
        await allure.parameter('conformance', failed.verdict);
        throw error;
      } finally {
        current = undefined;
      }
      const verdict = outcome.state === 'passed' ? 'passed' : 'unsupported';
      results.set(check.name, { verdict, reason: outcome.state === 'unsupported' ? outcome.reason : '' });
      await allure.parameter('conformance', verdict);
      if (outcome.state === 'unsupported') {
        const expected = opts.expectUnsupported?.includes(check.name) ?? false;
        if (env.ours && !expected) throw new Error(`our gateway does not support this: ${outcome.reason}`);
        ctx.skip(`unsupported by ${server}: ${outcome.reason}`);
      }
    });
  }
}

beforeAll(async () => {
  // The container provider bind-mounts fixtures/models; the model must exist first.
  await ensureTinyModel();
});

describe('OpenAI compatibility: inference target (our gateway on llama_cpp, or --target)', () => {
  const sys = useSystem(inferenceSystem, { options: { engine: 'llama_cpp', slots: 4, bodyLimit: 1 << 20 } });
  conformance('gateway', sys, { ours: (s) => s.provider !== 'external' });
});

describe('OpenAI compatibility: our gateway on the dummy engine', () => {
  const sys = useSystem(inferenceSystem, { provider: 'inprocess', options: { engine: 'dummy' } });
  conformance('dummy', sys, {
    ours: () => true,
    expectUnsupported: ['response_format json_schema is enforced'],
  });
});

describe('OpenAI compatibility: llama-server from LLAMA_SERVER_BIN on the same model (process)', () => {
  const peer = resolveLlamaServerPeer();
  let started: StartedRemote<'process'> | undefined;
  beforeAll(async () => {
    if (peer.kind !== 'binary') return;
    const modelPath = await ensureTinyModel();
    started = await startLlamaServer(peer.bin, {
      modelPath,
      modelId: 'tiny-llama',
      threads: 1,
      slots: 4,
      contextSize: 512,
    });
  }, 90_000);
  afterAll(async () => {
    await started?.stop();
  });
  conformance(
    'llama-server',
    () => {
      if (!started) throw new Error(peer.kind === 'binary' ? 'llama-server did not start' : 'no binary');
      return started;
    },
    { ours: () => false, skipReason: peer.kind === 'binary' ? undefined : 'LLAMA_SERVER_BIN is not set' },
  );
});

describe("OpenAI compatibility: llama.cpp's server image on the same model (container)", () => {
  const sys = useSystem(inferenceSystem, { provider: 'container' });
  conformance('llama-cpp-server', sys, { ours: () => false });
});
