import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, RigError } from './errors.ts';

describe('error codes', () => {
  it('documents every code in docs/errors.md', () => {
    const doc = readFileSync(path.join(import.meta.dirname, '..', 'docs', 'errors.md'), 'utf8');
    for (const code of Object.keys(ERROR_CODES)) expect(doc, code).toContain(`\`${code}\``);
  });

  it('carries code, exit code and hint', () => {
    const e = new RigError('RIG_PROFILE_UNKNOWN', 'unknown profile "x"');
    expect(e.code).toBe('RIG_PROFILE_UNKNOWN');
    expect(e.exitCode).toBe(2);
    expect(e.hint).toMatch(/profiles/);
  });
});
