import { describe, expect, it } from 'vitest';
import { RigError } from '../errors.ts';
import { encodeRigEnv, readRigEnv, TargetUrlSchema, targetEnvName, targetFor } from './env.ts';

describe('the RIG_* environment', () => {
  it('decodes what rig run encodes, and reads an empty value as unset', () => {
    const encoded = encodeRigEnv({
      RIG_RUN_DIR: '/tmp/run',
      RIG_PROFILE: 'smoke',
      RIG_TARGETS: { inference: 'http://127.0.0.1:8080/v1' },
      RIG_PROFILE_OVERRIDES: { durationMs: 2000 },
      RIG_TEST_TIMEOUT_MS: 120_000,
      RIG_INJECT_SLOWDOWN: undefined,
    });
    expect(encoded.RIG_INJECT_SLOWDOWN).toBe('');
    expect(encoded.RIG_TARGETS).toBe('{"inference":"http://127.0.0.1:8080/v1"}');
    const env = readRigEnv({ ...encoded, RIG_SEED: '42', PATH: '/bin' });
    expect(env).toEqual({
      RIG_RUN_DIR: '/tmp/run',
      RIG_PROFILE: 'smoke',
      RIG_TARGETS: { inference: 'http://127.0.0.1:8080/v1' },
      RIG_PROFILE_OVERRIDES: { durationMs: 2000 },
      RIG_TEST_TIMEOUT_MS: 120_000,
      RIG_SEED: 42,
    });
    expect(readRigEnv({})).toEqual({});
  });

  it('names the variable and the fault of a bad value', () => {
    const fault = (env: NodeJS.ProcessEnv) => {
      try {
        readRigEnv(env);
      } catch (error) {
        expect(error).toBeInstanceOf(RigError);
        expect((error as RigError).code).toBe('RIG_CONFIG_INVALID');
        return (error as RigError).message;
      }
      throw new Error('no error');
    };
    expect(fault({ RIG_TARGETS: '{not json' })).toMatch(/^environment RIG_TARGETS: not JSON/);
    expect(fault({ RIG_TARGETS: '{"inference":"ftp://x"}' })).toMatch(
      /RIG_TARGETS\.inference: must be a http:\/\/, https:\/\/, ws:\/\/, wss:\/\/ URL/,
    );
    expect(fault({ RIG_INJECT_SLOWDOWN: '20' })).toMatch(/RIG_INJECT_SLOWDOWN/);
    expect(fault({ RIG_TEST_TIMEOUT_MS: 'soon' })).toMatch(/RIG_TEST_TIMEOUT_MS/);
  });

  it('targetFor: --target (RIG_TARGETS) first, then RIG_TARGET_<NAME>; ws:// and wss:// are targets', () => {
    expect(targetEnvName('state-store')).toBe('RIG_TARGET_STATE_STORE');
    const env = {
      RIG_TARGETS: JSON.stringify({ inference: 'http://a:1/v1' }),
      RIG_TARGET_INFERENCE: 'http://b:2/v1',
      RIG_TARGET_SPACES: 'ws://127.0.0.1:9000/',
    };
    expect(targetFor('inference', env)).toBe('http://a:1/v1');
    expect(targetFor('spaces', env)).toBe('ws://127.0.0.1:9000');
    expect(targetFor('queue', env)).toBeUndefined();
    expect(targetFor('queue', { RIG_TARGET_QUEUE: '' })).toBeUndefined();
    expect(() => targetFor('queue', { RIG_TARGET_QUEUE: 'file:///x' })).toThrow(
      /RIG_TARGET_QUEUE: "file:\/\/\/x"/,
    );
    expect(TargetUrlSchema.parse('wss://relay.example:443/socket')).toBe('wss://relay.example:443/socket');
  });
});
