import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { INFERENCE_ERRORS, InferenceError } from '../errors.ts';

describe('error codes', () => {
  it('are all documented in README.md', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of Object.keys(INFERENCE_ERRORS)) expect(readme, code).toContain(`\`${code}\``);
  });

  it('serialise to the OpenAI error shape', () => {
    const e = new InferenceError('INFERENCE_QUEUE_FULL', 'busy', { retryAfterS: 1 });
    expect(e.status).toBe(429);
    expect(e.toWire()).toEqual({
      error: { message: 'busy', type: 'rate_limit_error', param: null, code: 'inference_queue_full' },
    });
  });
});
