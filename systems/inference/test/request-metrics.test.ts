// inference_requests_total counts each answer once, on the route that gave it: a handler's payload
// when it returns, an error in the error handler, a stream when it ends, the rest as `unmatched`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type Running, startGateway } from './helpers.ts';

const chat = (extra: Record<string, unknown> = {}) => ({
  model: 'dummy',
  messages: [{ role: 'user', content: 'say hello' }],
  max_tokens: 3,
  ...extra,
});

/** `route status` -> count, from the gateway's /metrics. */
async function requestCounts(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(/^inference_requests_total\{route="([^"]*)",status="(\d+)"\} (\d+)$/gm)) {
    counts[`${m[1]} ${m[2]}`] = Number(m[3]);
  }
  return counts;
}

describe('request counts', () => {
  let s: Running;
  beforeAll(async () => {
    s = await startGateway({ engine: 'dummy' });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('counts every answer once, streams and HEAD included', async () => {
    await (await postJson(`${s.url}/v1/chat/completions`, chat())).text();
    await (await postJson(`${s.url}/v1/chat/completions`, chat({ stream: true }))).text();
    await (await postJson(`${s.url}/v1/completions`, { model: 'dummy', prompt: 'x', stream: true })).text();
    await (await postJson(`${s.url}/v1/chat/completions`, chat({ model: 'nope' }))).text();
    await (
      await postJson(`${s.url}/v1/chat/completions`, 'x', { headers: { 'content-type': 'text/plain' } })
    ).text();
    await (await fetch(`${s.url}/health`)).text();
    await (await fetch(`${s.url}/health`, { method: 'HEAD' })).text();
    await (await fetch(`${s.url}/v1/models/nope`)).text();
    await (await fetch(`${s.url}/nowhere`)).text();
    await (await fetch(`${s.url}/health`, { method: 'POST' })).text();
    expect(await requestCounts(s.url)).toEqual({
      '/v1/chat/completions 200': 2,
      '/v1/completions 200': 1,
      '/v1/chat/completions 404': 1,
      '/v1/chat/completions 415': 1,
      '/health 200': 2,
      '/v1/models/:id 404': 1,
      'unmatched 404': 1,
      'unmatched 405': 1,
    });
  });
});
