// The timing client measures the wire it is given: one TTFT, one ITL per later chunk, TPOT from
// the usage chunk's token count, and failures as data (never a throw).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timedStream } from '../bench-client.ts';
import { type Running, startGateway } from './helpers.ts';

describe('timedStream', () => {
  let s: Running;
  beforeAll(async () => {
    s = await startGateway({ engine: 'dummy', dummyTokenDelayMs: 2 });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('times a chat stream with vllm bench serve definitions', async () => {
    const t = await timedStream(`${s.url}/v1`, {
      model: 'dummy',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 6,
    });
    expect(t.ok).toBe(true);
    expect(t.status).toBe(200);
    expect(t.outputTokens).toBe(6);
    expect(t.ttftMs).toBeGreaterThan(0);
    expect(t.itlMs).toHaveLength(5);
    expect(t.tpotMs).toBeCloseTo((t.e2eMs - (t.ttftMs ?? 0)) / 5, 6);
    expect(t.text.split(' ')).toHaveLength(6);
  });

  it('times a legacy completion stream', async () => {
    const t = await timedStream(
      `${s.url}/v1`,
      { model: 'dummy', prompt: 'x', max_tokens: 3 },
      { path: 'completions' },
    );
    expect(t.ok).toBe(true);
    expect(t.outputTokens).toBe(3);
  });

  it('returns failures as data', async () => {
    const bad = await timedStream(`${s.url}/v1`, {
      model: 'nope',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(bad).toMatchObject({ ok: false, status: 404 });
    expect(bad.error).toContain('nope');
    const down = await timedStream('http://127.0.0.1:9/v1', { model: 'dummy', messages: [] });
    expect(down.ok).toBe(false);
    expect(down.status).toBe(0);
    expect(down.error).toBeTruthy();
  });
});
