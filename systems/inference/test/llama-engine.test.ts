// The llama_cpp engine behind the gateway, on the generated tiny model.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTinyModel } from '../../../fixtures/models/index.ts';
import { postJson, type Running, sseEvents, startGateway, type Wire } from './helpers.ts';

describe('gateway on the llama_cpp engine (generated tiny model)', () => {
  let s: Running;

  beforeAll(async () => {
    const modelPath = await ensureTinyModel();
    s = await startGateway({ engine: 'llama_cpp', modelPath, slots: 3, threads: 1, contextSize: 256 });
  });
  afterAll(async () => {
    await s?.close();
  });

  const chat = (extra: Record<string, unknown> = {}) => ({
    model: 'tiny-llama',
    messages: [
      { role: 'system', content: 'you are a test' },
      { role: 'user', content: 'hello world' },
    ],
    max_tokens: 6,
    ...extra,
  });

  it('lists the model by its file name', async () => {
    const m = (await (await fetch(`${s.url}/v1/models`)).json()) as Wire;
    expect(m.data.map((d: { id: string }) => d.id)).toEqual(['tiny-llama']);
  });

  it('generates with real token counts and honours max_tokens', async () => {
    const b = (await (await postJson(`${s.url}/v1/chat/completions`, chat({ seed: 3 }))).json()) as Wire;
    expect(b.object).toBe('chat.completion');
    expect(b.usage?.prompt_tokens).toBeGreaterThan(3);
    expect(b.usage?.completion_tokens).toBeLessThanOrEqual(6);
    expect(b.usage?.completion_tokens).toBeGreaterThan(0);
    if (b.usage?.completion_tokens === 6) expect(b.choices[0]?.finish_reason).toBe('length');
  });

  it('is deterministic for a fixed seed', async () => {
    const run = async () =>
      (
        (await (
          await postJson(`${s.url}/v1/chat/completions`, chat({ seed: 11, temperature: 0.9 }))
        ).json()) as Wire
      ).choices[0]?.message.content;
    expect(await run()).toBe(await run());
  });

  it('streams the same text it would answer in one piece', async () => {
    const one = (await (
      await postJson(`${s.url}/v1/completions`, {
        model: 'tiny-llama',
        prompt: 'the sky',
        max_tokens: 8,
        temperature: 0,
      })
    ).json()) as Wire;
    const events = await sseEvents(
      await postJson(`${s.url}/v1/completions`, {
        model: 'tiny-llama',
        prompt: 'the sky',
        max_tokens: 8,
        temperature: 0,
        stream: true,
      }),
    );
    expect(events.at(-1)).toBe('[DONE]');
    const text = events
      .slice(0, -1)
      .map((e) => JSON.parse(e) as Wire)
      .map((c) => c.choices[0]?.text ?? '')
      .join('');
    expect(text).toBe(one.choices[0]?.text);
  });

  it('cuts the text before a stop sequence and answers finish_reason stop', async () => {
    const base = { model: 'tiny-llama', prompt: 'the sky', max_tokens: 24, temperature: 0 };
    const full =
      ((await (await postJson(`${s.url}/v1/completions`, base)).json()) as Wire).choices[0]?.text ?? '';
    // A two-character stop from the middle of the greedy text: it may span two tokens.
    const stop = full.slice(6, 8);
    const cut = (await (await postJson(`${s.url}/v1/completions`, { ...base, stop: [stop] })).json()) as Wire;
    expect(cut.choices[0]?.text).toBe(full.slice(0, full.indexOf(stop)));
    expect(cut.choices[0]?.finish_reason).toBe('stop');
  });

  it('refuses a prompt longer than the context with a typed 400, and still serves', async () => {
    const res = await postJson(`${s.url}/v1/completions`, {
      model: 'tiny-llama',
      prompt: 'the sky is blue and '.repeat(80),
      max_tokens: 4,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Wire).error.code).toBe('inference_context_length_exceeded');
    const after = await postJson(`${s.url}/v1/chat/completions`, chat({ seed: 1 }));
    expect(after.status).toBe(200);
  });

  it('stops at the end of the context with finish_reason length', async () => {
    const b = (await (
      await postJson(`${s.url}/v1/completions`, { model: 'tiny-llama', prompt: 'the sky', max_tokens: 1000 })
    ).json()) as Wire;
    expect(b.choices[0]?.finish_reason).toBe('length');
    expect((b.usage?.prompt_tokens ?? 0) + (b.usage?.completion_tokens ?? 0)).toBeLessThanOrEqual(256);
  });

  it('applies presence and frequency penalties', async () => {
    const ask = (extra: Record<string, unknown>) =>
      postJson(`${s.url}/v1/chat/completions`, chat({ seed: 5, max_tokens: 16, temperature: 0, ...extra }));
    const plain = (await (await ask({})).json()) as Wire;
    const penalised = (await (await ask({ presence_penalty: 2, frequency_penalty: 2 })).json()) as Wire;
    expect(penalised.usage?.completion_tokens).toBeGreaterThan(0);
    expect(penalised.choices[0]?.message.content).not.toBe(plain.choices[0]?.message.content);
  });

  it('serves concurrent requests on separate sequences', async () => {
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((seed) =>
        postJson(`${s.url}/v1/chat/completions`, chat({ seed })).then((r) => r.status),
      ),
    );
    expect(results).toEqual([200, 200, 200, 200, 200]);
    expect(s.gw.state.admission.stats().busy).toBe(0);
  });

  it('enforces response_format json_schema through a grammar', async () => {
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
    const b = (await (
      await postJson(
        `${s.url}/v1/chat/completions`,
        chat({
          max_tokens: 40,
          seed: 5,
          response_format: { type: 'json_schema', json_schema: { name: 't', schema } },
        }),
      )
    ).json()) as Wire;
    const parsed = JSON.parse(b.choices[0]?.message.content ?? '') as { ok: unknown };
    expect(typeof parsed.ok).toBe('boolean');
  });

  it('aborts generation when the client goes away', async () => {
    const ac = new AbortController();
    const res = await postJson(`${s.url}/v1/chat/completions`, chat({ stream: true, max_tokens: 200 }), {
      signal: ac.signal,
    });
    await (res.body as ReadableStream<Uint8Array>).getReader().read();
    ac.abort();
    await expect.poll(() => s.gw.state.admission.stats().busy, { timeout: 10_000 }).toBe(0);
  });
});
