import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isStateStoreError, STATE_STORE_ERRORS, StateStoreError } from '../index.ts';

describe('error codes', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  it.each(Object.keys(STATE_STORE_ERRORS))('%s is documented in README.md', (code) => {
    expect(readme).toContain(`\`${code}\``);
  });

  it('carry their code and a hint in the message', () => {
    const e = new StateStoreError('STATE_STALE_VERSION', 'version 3 is not newer than 4');
    expect(e.code).toBe('STATE_STALE_VERSION');
    expect(e.message).toContain(STATE_STORE_ERRORS.STATE_STALE_VERSION);
    expect(isStateStoreError(e, 'STATE_STALE_VERSION')).toBe(true);
    expect(isStateStoreError(e, 'STATE_STORE_CLOSED')).toBe(false);
    expect(isStateStoreError(new Error('x'))).toBe(false);
  });
});
