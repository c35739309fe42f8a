import { describe, expect, it } from 'vitest';
import { loadConfig, SpacesOptionsSchema } from '../config.ts';
import { isSpacesError } from '../errors.ts';
import { optionsToEnv } from '../system.ts';

describe('spaces config', () => {
  it('defaults < input < SPACES_* environment, frozen', () => {
    const c = loadConfig({ port: 1234, maxAttempts: 3 }, { SPACES_PORT: '4321', SPACES_SYNCHRONOUS: 'full' });
    expect(c.port).toBe(4321);
    expect(c.maxAttempts).toBe(3);
    expect(c.synchronous).toBe('full');
    expect(c.requestTimeoutMs).toBe(120_000);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('one line names the field, what is wrong and the env var that gave it; secrets are hidden', () => {
    const cases: Array<[Record<string, unknown>, NodeJS.ProcessEnv, RegExp]> = [
      [{}, { SPACES_PORT: 'abc' }, /spaces\.port: .*\(got "abc" from SPACES_PORT\)/],
      [{ synchronous: 'off' }, {}, /spaces\.synchronous: .*\(got "off"\)/],
      [{ nope: 1 }, {}, /spaces has unknown field\(s\) nope; allowed: host, port/],
      [
        {},
        { SPACES_ADMIN_TOKEN: 'short' },
        /spaces\.adminToken: .*\(got \(hidden\) from SPACES_ADMIN_TOKEN\)/,
      ],
      [{}, { SPACES_REQUEST_TIMEOUT_MS: '1' }, /spaces\.requestTimeoutMs: .*from SPACES_REQUEST_TIMEOUT_MS/],
    ];
    for (const [input, env, re] of cases) {
      const err = (() => {
        try {
          loadConfig(input as never, env);
        } catch (e) {
          return e;
        }
      })();
      expect(isSpacesError(err, 'SPACES_CONFIG_INVALID'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('short');
    }
  });

  it('start options: every config field but host and port, unknown keys refused; env for the child', () => {
    expect(SpacesOptionsSchema.safeParse({ port: 1 }).success).toBe(false);
    expect(SpacesOptionsSchema.safeParse({ requestTimeoutMs: 500, dbPath: '/tmp/x.db' }).success).toBe(true);
    expect(optionsToEnv({ requestTimeoutMs: 500, synchronous: 'full', adminToken: 'a'.repeat(16) })).toEqual({
      SPACES_REQUEST_TIMEOUT_MS: '500',
      SPACES_SYNCHRONOUS: 'full',
      SPACES_ADMIN_TOKEN: 'a'.repeat(16),
    });
  });
});
