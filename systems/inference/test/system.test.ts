// The harness providers of system.ts: the child process (default) and in-process gateways.
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { startSystem } from '../../../harness/index.ts';
import type { Gateway } from '../server.ts';
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
  it('process: serves the generated model; the openai client chats with it, streaming', async () => {
    const sys = await startSystem('inference', { provider: 'process' });
    try {
      expect(sys.pid).toBeGreaterThan(0);
      const r = await chatOnce(sys.endpoint as string);
      expect(r.chunks).toBeGreaterThan(2);
    } finally {
      const stopped = await sys.stop();
      expect(stopped.logs).toContain('listening on http://127.0.0.1:');
    }
  });

  it('inprocess: the same gateway in the test process', async () => {
    const sys = await startSystem<Gateway>('inference', {
      provider: 'inprocess',
      options: { engine: 'dummy' },
    });
    try {
      expect(sys.api?.state.engine.name).toBe('dummy');
      const r = await chatOnce(sys.endpoint as string);
      expect(r.text.length).toBeGreaterThan(0);
    } finally {
      await sys.stop();
    }
  });
});
