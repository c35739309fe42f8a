import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { SPACES_ERRORS, SpacesError } from '../errors.ts';

describe('error codes', () => {
  it('are all in the README table, and the table names no code that does not exist', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const rows = [...readme.matchAll(/^\|\s*`(SPACES_[A-Z_]+)`\s*\|\s*(\d+|—)\s*\|/gm)].map(
      (m) => m[1] as string,
    );
    expect(rows.sort()).toEqual(Object.keys(SPACES_ERRORS).sort());
  });

  it('the README table gives each code its status', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const [code, spec] of Object.entries(SPACES_ERRORS)) {
      const row = readme.split('\n').find((l) => l.trim().startsWith(`| \`${code}\``));
      expect(row, code).toBeDefined();
      expect(row?.split('|')[2]?.trim(), code).toBe(spec.status === 0 ? '—' : String(spec.status));
    }
  });

  it('serialise to { error } over HTTP and { ok: false, error } in acks', () => {
    const e = new SpacesError('SPACES_QUEUE_FULL', 'full', { retryAfterS: 2 });
    expect(e.status).toBe(429);
    expect(e.retryAfterS).toBe(2);
    expect(e.toWire()).toEqual({ error: { code: 'SPACES_QUEUE_FULL', message: 'full' } });
    expect(e.toAck()).toEqual({ ok: false, error: { code: 'SPACES_QUEUE_FULL', message: 'full' } });
  });
});
