// The HTTP layer on the deterministic dummy engine: wire shapes, errors, admission, metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type Running, sseEvents, startGateway, type Wire } from './helpers.ts';

const chat = (extra: Record<string, unknown> = {}) => ({
  model: 'dummy',
  messages: [{ role: 'user', content: 'say hello' }],
  ...extra,
});

describe('gateway on the dummy engine', () => {
  let s: Running;

  beforeAll(async () => {
    s = await startGateway({ engine: 'dummy', bodyLimit: 4096 });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('GET /health and /v1/models', async () => {
    const h = await fetch(`${s.url}/health`);
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ status: 'ok' });
    const m = (await (await fetch(`${s.url}/v1/models`)).json()) as {
      object: string;
      data: Array<{ id: string; object: string }>;
    };
    expect(m.object).toBe('list');
    expect(m.data[0]).toMatchObject({ id: 'dummy', object: 'model' });
    expect((await fetch(`${s.url}/v1/models/dummy`)).status).toBe(200);
    expect((await fetch(`${s.url}/v1/models/nope`)).status).toBe(404);
  });

  it('answers a chat.completion with usage, deterministic for a seed', async () => {
    const r1 = await postJson(`${s.url}/v1/chat/completions`, chat({ seed: 7 }));
    expect(r1.status).toBe(200);
    const b1 = (await r1.json()) as Wire;
    expect(b1).toMatchObject({ object: 'chat.completion', model: 'dummy' });
    expect(b1.id).toMatch(/^chatcmpl-/);
    expect(b1.choices[0]?.message.role).toBe('assistant');
    expect(b1.choices[0]?.message.content.length).toBeGreaterThan(0);
    expect(b1.usage?.total_tokens).toBe((b1.usage?.prompt_tokens ?? 0) + (b1.usage?.completion_tokens ?? 0));
    const b2 = (await (await postJson(`${s.url}/v1/chat/completions`, chat({ seed: 7 }))).json()) as Wire;
    expect(b2.choices[0]?.message.content).toBe(b1.choices[0]?.message.content);
    expect(b2.id).not.toBe(b1.id);
  });

  it('honours max_tokens / max_completion_tokens with finish_reason length', async () => {
    for (const key of ['max_tokens', 'max_completion_tokens']) {
      const b = (await (await postJson(`${s.url}/v1/chat/completions`, chat({ [key]: 3 }))).json()) as Wire;
      expect(b.choices[0]?.finish_reason).toBe('length');
      expect(b.usage?.completion_tokens).toBe(3);
    }
  });

  it('stops before a stop sequence and never sends it', async () => {
    const full = (await (
      await postJson(`${s.url}/v1/chat/completions`, chat({ seed: 1, max_tokens: 40 }))
    ).json()) as Wire;
    const text = full.choices[0]?.message.content ?? '';
    const words = text.split(' ');
    const stop = ` ${words[2]}`;
    const cut = text.indexOf(stop);
    const b = (await (
      await postJson(`${s.url}/v1/chat/completions`, chat({ seed: 1, max_tokens: 40, stop: [stop] }))
    ).json()) as Wire;
    expect(b.choices[0]?.message.content).toBe(text.slice(0, cut));
    expect(b.choices[0]?.finish_reason).toBe('stop');
  });

  it('streams chat.completion.chunk events with one id, role first, usage chunk, [DONE]', async () => {
    const res = await postJson(
      `${s.url}/v1/chat/completions`,
      chat({ stream: true, seed: 7, stream_options: { include_usage: true } }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await sseEvents(res);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Wire);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    for (const c of chunks) expect(c.object).toBe('chat.completion.chunk');
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    const usageChunk = chunks.at(-1) as Wire;
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage?.completion_tokens).toBeGreaterThan(0);
    const finish = chunks.at(-2) as Wire;
    expect(finish.choices[0]?.finish_reason).toMatch(/stop|length/);
    expect(finish.choices[0]?.delta).toEqual({});
    for (const c of chunks.slice(0, -1)) expect(c.usage).toBeNull();
    for (const c of chunks.slice(1, -2)) expect(c.choices[0]?.delta.role).toBeUndefined();
    const streamed = chunks
      .slice(1, -2)
      .map((c) => c.choices[0]?.delta.content)
      .join('');
    const nonStream = (await (
      await postJson(`${s.url}/v1/chat/completions`, chat({ seed: 7 }))
    ).json()) as Wire;
    expect(streamed).toBe(nonStream.choices[0]?.message.content);
  });

  it('omits usage fields in a stream without include_usage', async () => {
    const events = await sseEvents(await postJson(`${s.url}/v1/chat/completions`, chat({ stream: true })));
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Record<string, unknown>);
    for (const c of chunks) expect('usage' in c).toBe(false);
  });

  it('serves /v1/completions, streaming and not', async () => {
    const b = (await (
      await postJson(`${s.url}/v1/completions`, { model: 'dummy', prompt: 'once upon', max_tokens: 5 })
    ).json()) as Wire;
    expect(b.object).toBe('text_completion');
    expect(b.id).toMatch(/^cmpl-/);
    expect(b.choices[0]).toMatchObject({ index: 0, finish_reason: 'length', logprobs: null });
    const events = await sseEvents(
      await postJson(`${s.url}/v1/completions`, {
        model: 'dummy',
        prompt: 'once upon',
        max_tokens: 5,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Wire);
    const text = chunks
      .filter((c) => c.choices.length > 0)
      .map((c) => c.choices[0]?.text)
      .join('');
    expect(text).toBe(b.choices[0]?.text);
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(5);
  });

  it('answers errors in the OpenAI shape with the right status', async () => {
    const cases: Array<[Promise<Response>, number, string]> = [
      [postJson(`${s.url}/v1/chat/completions`, '{not json'), 400, 'inference_bad_request'],
      [postJson(`${s.url}/v1/chat/completions`, { model: 'dummy' }), 400, 'inference_bad_request'],
      [postJson(`${s.url}/v1/chat/completions`, chat({ temperature: 9 })), 400, 'inference_bad_request'],
      [postJson(`${s.url}/v1/chat/completions`, chat({ model: 'gpt-9' })), 404, 'inference_model_not_found'],
      [postJson(`${s.url}/v1/chat/completions`, chat({ n: 2 })), 400, 'inference_unsupported_parameter'],
      [
        postJson(`${s.url}/v1/chat/completions`, chat({ response_format: { type: 'json_object' } })),
        400,
        'inference_unsupported_parameter',
      ],
      [
        postJson(`${s.url}/v1/chat/completions`, chat({ pad: 'x'.repeat(8192) })),
        413,
        'inference_body_too_large',
      ],
      [fetch(`${s.url}/v1/chat/completions`), 405, 'inference_method_not_allowed'],
      [fetch(`${s.url}/v1/nope`), 404, 'inference_route_not_found'],
    ];
    for (const [p, status, code] of cases) {
      const res = await p;
      expect(res.status, code).toBe(status);
      const body = (await res.json()) as { error: Record<string, unknown> };
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
      expect(body.error.code).toBe(code);
      expect(typeof body.error.message).toBe('string');
    }
    const missing = (await (
      await postJson(`${s.url}/v1/chat/completions`, { model: 'dummy' })
    ).json()) as Wire;
    expect(missing.error.param).toBe('messages');
  });

  it('reports status and Prometheus metrics', async () => {
    const st = (await (await fetch(`${s.url}/v1/system/status`)).json()) as Wire;
    expect(st).toMatchObject({ status: 'ready', engine: { name: 'dummy' }, models: ['dummy'] });
    expect(st.admission).toMatchObject({ slots: 4, busy: 0, queued: 0 });
    expect(st.memory.rssBytes).toBeGreaterThan(0);
    const text = await (await fetch(`${s.url}/metrics`)).text();
    for (const name of [
      'inference_requests_total{route="/v1/chat/completions",status="200"}',
      'inference_time_to_first_token_seconds_bucket',
      'inference_inter_token_latency_seconds_bucket',
      'inference_e2e_request_latency_seconds_count',
      'inference_queue_time_seconds_sum',
      'inference_generation_tokens_total',
      'inference_prompt_tokens_total',
      'inference_requests_total{route="/v1/chat/completions",status="404"}',
    ]) {
      expect(text).toContain(name);
    }
  });
});

describe('gateway admission control', () => {
  let s: Running;
  beforeAll(async () => {
    s = await startGateway({
      engine: 'dummy',
      slots: 1,
      queueLimit: 1,
      queueTimeoutMs: 60_000,
      dummyTokenDelayMs: 20,
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('answers 429 with Retry-After past slots + queueLimit, serves the rest', async () => {
    const body = chat({ max_tokens: 5 });
    const results = await Promise.all([1, 2, 3, 4].map(() => postJson(`${s.url}/v1/chat/completions`, body)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 429, 429]);
    const rejected = results.find((r) => r.status === 429) as Response;
    expect(rejected.headers.get('retry-after')).toBe('1');
    expect(((await rejected.json()) as Wire).error.type).toBe('rate_limit_error');
    for (const r of results) if (!r.bodyUsed) await r.body?.cancel();
  });

  it('aborts generation when the client disconnects mid-stream', async () => {
    const ac = new AbortController();
    const res = await postJson(`${s.url}/v1/chat/completions`, chat({ stream: true, max_tokens: 500 }), {
      signal: ac.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    expect(s.gw.state.admission.stats().busy).toBe(1);
    ac.abort();
    await expect.poll(() => s.gw.state.admission.stats().busy, { timeout: 5_000 }).toBe(0);
  });
});

describe('gateway client disconnect (non-streaming)', () => {
  it('aborts the generation and frees the slot when the client goes away before the answer', async () => {
    const s = await startGateway({ engine: 'dummy', slots: 1, dummyTokenDelayMs: 20 });
    try {
      const ac = new AbortController();
      const pending = postJson(`${s.url}/v1/chat/completions`, chat({ max_tokens: 500 }), {
        signal: ac.signal,
      }).catch((e: unknown) => e);
      await expect.poll(() => s.gw.state.admission.stats().busy, { timeout: 5_000 }).toBe(1);
      ac.abort();
      expect(await pending).toBeInstanceOf(Error);
      // 500 tokens at 20 ms would hold the slot for 10 s; an abort frees it at once.
      await expect.poll(() => s.gw.state.admission.stats().busy, { timeout: 3_000 }).toBe(0);
    } finally {
      await s.close();
    }
  });
});

describe('gateway queue timeout', () => {
  it('answers 503 in the OpenAI shape when a request waits past queueTimeoutMs', async () => {
    const s = await startGateway({
      engine: 'dummy',
      slots: 1,
      queueLimit: 4,
      queueTimeoutMs: 50,
      dummyTokenDelayMs: 30,
    });
    try {
      const first = postJson(`${s.url}/v1/chat/completions`, chat({ max_tokens: 10 }));
      await new Promise((r) => setTimeout(r, 20));
      const second = await postJson(`${s.url}/v1/chat/completions`, chat({ max_tokens: 10 }));
      expect(second.status).toBe(503);
      expect(((await second.json()) as Wire).error.code).toBe('inference_queue_timeout');
      expect((await first).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('gateway while loading', () => {
  it('answers /health 503 until the engine is loaded', async () => {
    const { createGateway } = await import('../server.ts');
    const { DummyEngine } = await import('../engines/dummy.ts');
    let finish!: () => void;
    const engine = new DummyEngine('slow');
    engine.load = () => new Promise<void>((r) => (finish = r));
    const gw = await createGateway({ port: 0 }, { env: {}, engine });
    try {
      const url = await gw.listen();
      const loading = await fetch(`${url}/health`);
      expect(loading.status).toBe(503);
      expect(((await loading.json()) as Wire).error.message).toBe('Loading model');
      const chatRes = await postJson(`${url}/v1/chat/completions`, { ...chat(), model: 'slow' });
      expect(chatRes.status).toBe(503);
      await chatRes.body?.cancel();
      finish();
      await gw.ready;
      expect((await fetch(`${url}/health`)).status).toBe(200);
    } finally {
      await gw.close();
    }
  });
});

describe('gateway request timeout', () => {
  it('aborts a generation past requestTimeoutMs: 408 in one piece, an error event in a stream', async () => {
    const s = await startGateway({ engine: 'dummy', requestTimeoutMs: 60, dummyTokenDelayMs: 20 });
    try {
      const res = await postJson(`${s.url}/v1/chat/completions`, chat({ max_tokens: 100 }));
      expect(res.status).toBe(408);
      expect(((await res.json()) as Wire).error.code).toBe('inference_request_timeout');
      const events = await sseEvents(
        await postJson(`${s.url}/v1/chat/completions`, chat({ max_tokens: 100, stream: true })),
      );
      expect(events.at(-1)).toBe('[DONE]');
      const last = JSON.parse(events.at(-2) ?? '{}') as Wire;
      expect(last.error.code).toBe('inference_request_timeout');
      expect(s.gw.state.admission.stats().busy).toBe(0);
    } finally {
      await s.close();
    }
  });
});
