import { describe, expect, it } from 'vitest';
import { loadConfig, StorageOptionsSchema } from '../config.ts';
import { isStorageError } from '../errors.ts';
import { optionsToEnv } from '../system.ts';

describe('storage config', () => {
  it('defaults < input < STORAGE_* environment, frozen', () => {
    const c = loadConfig(
      { port: 1234, maxWatchers: 5 },
      { STORAGE_PORT: '4321', STORAGE_S3_FORCE_PATH_STYLE: 'false' },
    );
    expect(c.port).toBe(4321);
    expect(c.maxWatchers).toBe(5);
    expect(c.backend).toBe('fs');
    expect(c.s3.forcePathStyle).toBe(false);
    expect(c.s3.region).toBe('us-east-1');
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.s3)).toBe(true);
  });

  it('one line names the field, what is wrong and the env var that gave it', () => {
    const cases: Array<[Record<string, unknown>, NodeJS.ProcessEnv, RegExp]> = [
      [{}, { STORAGE_PORT: 'abc' }, /storage\.port: .*\(got "abc" from STORAGE_PORT\)/],
      [{ backend: 'ftp' }, {}, /storage\.backend: .*\(got "ftp"\)/],
      [{ backend: 's3' }, {}, /storage\.s3\.bucket: required when backend is s3/],
      [{ minPartBytes: 10, maxPartBytes: 5 }, {}, /storage\.minPartBytes: at most maxPartBytes/],
      [{ nope: 1 }, {}, /storage has unknown field\(s\) nope; allowed: host, port/],
      [{ s3: { bucket: 'abc', nope: 1 } }, {}, /storage\.s3 has unknown field\(s\) nope/],
      [{}, { STORAGE_MAX_EXPIRES_IN: '604801' }, /storage\.maxExpiresIn: .*from STORAGE_MAX_EXPIRES_IN/],
    ];
    for (const [input, env, pattern] of cases) {
      try {
        loadConfig(input as never, env);
        expect.unreachable(JSON.stringify(input));
      } catch (e) {
        expect(isStorageError(e, 'STORAGE_CONFIG_INVALID'), String(e)).toBe(true);
        expect((e as Error).message).toMatch(pattern);
        expect((e as Error).message).not.toContain('\n');
      }
    }
  });

  it('start options are strict, and map onto STORAGE_* variables for the child process', () => {
    expect(StorageOptionsSchema.safeParse({ port: 1 }).success).toBe(false);
    expect(StorageOptionsSchema.safeParse({ s3: { bucket: 'b', bogus: 1 } }).success).toBe(false);
    const opts = StorageOptionsSchema.parse({
      maxWatchers: 3,
      s3: { bucket: 'bucket1', forcePathStyle: true },
    });
    expect(optionsToEnv(opts)).toEqual({
      STORAGE_MAX_WATCHERS: '3',
      STORAGE_S3_BUCKET: 'bucket1',
      STORAGE_S3_FORCE_PATH_STYLE: 'true',
    });
    const back = loadConfig({}, optionsToEnv(opts));
    expect(back.maxWatchers).toBe(3);
    expect(back.s3.bucket).toBe('bucket1');
  });
});
