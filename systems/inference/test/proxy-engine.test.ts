// The openai-proxy engine against a second in-process gateway as its upstream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type Running, sseEvents, startGateway, type Wire } from './helpers.ts';

describe('openai-proxy engine', () => {
  let upstream: Running;
  let proxy: Running;

  beforeAll(async () => {
    upstream = await startGateway({ engine: 'dummy', modelId: 'up-model' });
    proxy = await startGateway({ engine: 'vllm', upstreamUrl: `${upstream.url}/v1` });
  });
  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
  });

  const chat = { model: 'up-model', messages: [{ role: 'user', content: 'hi' }], seed: 4, max_tokens: 9 };

  it('lists the upstream models and reports what it fronts', async () => {
    const m = (await (await fetch(`${proxy.url}/v1/models`)).json()) as Wire;
    expect(m.data.map((d: { id: string }) => d.id)).toEqual(['up-model']);
    const st = (await (await fetch(`${proxy.url}/v1/system/status`)).json()) as Wire;
    expect(st.engine).toMatchObject({ name: 'openai-proxy', label: 'vllm' });
  });

  it('forwards a chat request and returns the upstream text and usage', async () => {
    const direct = (await (await postJson(`${upstream.url}/v1/chat/completions`, chat)).json()) as Wire;
    const via = (await (await postJson(`${proxy.url}/v1/chat/completions`, chat)).json()) as Wire;
    expect(via.choices[0]?.message.content).toBe(direct.choices[0]?.message.content);
    expect(via.choices[0]?.finish_reason).toBe(direct.choices[0]?.finish_reason);
    expect(via.usage).toEqual(direct.usage);
  });

  it('streams the upstream text back', async () => {
    const direct = (await (
      await postJson(`${upstream.url}/v1/completions`, { model: 'up-model', prompt: 'x', max_tokens: 7 })
    ).json()) as Wire;
    const events = await sseEvents(
      await postJson(`${proxy.url}/v1/completions`, {
        model: 'up-model',
        prompt: 'x',
        max_tokens: 7,
        stream: true,
      }),
    );
    const text = events
      .slice(0, -1)
      .map((e) => JSON.parse(e) as Wire)
      .map((c) => c.choices[0]?.text ?? '')
      .join('');
    expect(text).toBe(direct.choices[0]?.text);
  });

  it('passes upstream errors through in the OpenAI shape', async () => {
    const res = await postJson(`${proxy.url}/v1/chat/completions`, {
      ...chat,
      response_format: { type: 'json_object' },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Wire;
    expect(body.error.code).toBe('inference_upstream_failed');
    expect(body.error.message).toMatch(/response_format/);
  });

  it('rejects a model the upstream does not serve', async () => {
    const res = await postJson(`${proxy.url}/v1/chat/completions`, { ...chat, model: 'other' });
    expect(res.status).toBe(404);
  });
});
