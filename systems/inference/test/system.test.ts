// The harness providers of system.ts: the child process (default) and in-process gateways.
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { freePort, RigError, startSystem } from '../../../harness/index.ts';
import { inferenceSystem } from '../index.ts';
import definition from '../system.ts';
import { openaiUrls } from '../wait.ts';

async function chatOnce(endpoint: string): Promise<{ text: string; chunks: number }> {
  const client = new OpenAI({ baseURL: openaiUrls(endpoint).v1, apiKey: 'none', maxRetries: 0 });
  const models = await client.models.list();
  const model = models.data[0]?.id ?? '';
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'hello' }],
    max_tokens: 5,
    stream: true,
  });
  let text = '';
  let chunks = 0;
  for await (const c of stream) {
    chunks++;
    text += c.choices[0]?.delta.content ?? '';
  }
  return { text, chunks };
}

describe('inference system providers', () => {
  it('process: serves the generated model on the requested port; the openai client chats with it, streaming', async () => {
    const port = await freePort();
    const sys = await startSystem(inferenceSystem, { provider: 'process', port });
    try {
      expect(sys.pid).toBeGreaterThan(0);
      expect(sys.endpoint).toBe(`http://127.0.0.1:${port}`);
      const r = await chatOnce(sys.endpoint);
      expect(r.chunks).toBeGreaterThan(2);
    } finally {
      const stopped = await sys.stop();
      expect(stopped.logs).toContain('listening on http://127.0.0.1:');
    }
  });

  it('inprocess: the same gateway in the test process, on the requested port', async () => {
    const port = await freePort();
    const sys = await startSystem(inferenceSystem, {
      provider: 'inprocess',
      port,
      options: { engine: 'dummy' },
    });
    try {
      expect(sys.api.state.engine.name).toBe('dummy');
      expect(new URL(sys.endpoint).port).toBe(String(port));
      const r = await chatOnce(sys.endpoint);
      expect(r.text.length).toBeGreaterThan(0);
    } finally {
      await sys.stop();
    }
  });

  it('refuses a misspelt start option with its path, before anything starts', async () => {
    // @ts-expect-error engin is not an option
    const error = await startSystem(inferenceSystem, { options: { engin: 'dummy' } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RigError);
    expect((error as RigError).code).toBe('RIG_CONFIG_INVALID');
    expect((error as RigError).message).toMatch(
      /^systems\.inference\.options\.engin: unrecognized key \(allowed: engine, /,
    );
    const bad = await startSystem(inferenceSystem, { options: { slots: 0 } }).catch((e: unknown) => e);
    expect((bad as RigError).message).toMatch(/^systems\.inference\.options\.slots: /);
  });

  it('doctor: reports the models this machine can serve', async () => {
    const checks = await definition.doctor();
    expect(checks.map((c) => c.name)).toEqual(['models']);
  });
});
