import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { STORAGE_ERRORS, StorageError } from '../errors.ts';

describe('error codes', () => {
  it('are all documented in README.md, and its error table names no code that does not exist', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of Object.keys(STORAGE_ERRORS)) expect(readme, code).toContain(`\`${code}\``);
    const rows = [...readme.matchAll(/^\|\s*`(STORAGE_[A-Z_]+)`\s*\|\s*(\d+|client)\s*\|/gm)].map(
      (m) => m[1] as string,
    );
    expect(rows.sort()).toEqual(Object.keys(STORAGE_ERRORS).sort());
  });

  it('the README table gives each code its status', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const [code, spec] of Object.entries(STORAGE_ERRORS)) {
      const row = readme.split('\n').find((l) => l.includes(`\`${code}\``) && l.trim().startsWith('|'));
      expect(row, code).toBeDefined();
      expect(row, code).toContain(spec.status === 0 ? 'client' : String(spec.status));
    }
  });

  it('serialise to { error: { code, message } } with the status of the code', () => {
    const e = new StorageError('STORAGE_TOO_MANY_WATCHERS', 'busy', { retryAfterS: 1 });
    expect(e.status).toBe(503);
    expect(e.retryAfterS).toBe(1);
    expect(e.toWire()).toEqual({ error: { code: 'STORAGE_TOO_MANY_WATCHERS', message: 'busy' } });
  });
});
