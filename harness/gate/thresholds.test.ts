import { describe, expect, it } from 'vitest';
import { RigError } from '../errors.ts';
import { globMatches, parseRule, parseThresholds } from './thresholds.ts';

describe('thresholds', () => {
  it('reads k6-style rules with units', () => {
    expect(parseRule('< 50us', 'a.b', 'f')).toMatchObject({
      op: '<',
      limit: 50,
      unit: 'us',
      subject: 'value',
    });
    expect(parseRule('>= 1e6 msg/s', 'a.b', 'f')).toMatchObject({ op: '>=', limit: 1e6, unit: 'msg/s' });
    expect(parseRule('ratio > 5', 'a.b', 'f')).toMatchObject({ subject: 'ratio', limit: 5, unit: undefined });
    expect(parseRule('<= 0.5', 'a.b', 'f')).toMatchObject({ unit: undefined, limit: 0.5 });
  });

  it('rejects unreadable rules with a typed error naming the file and figure', () => {
    try {
      parseThresholds({ 'a.b': ['about 5 ms'] }, 'thresholds/x.json');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(RigError);
      expect((error as RigError).code).toBe('RIG_THRESHOLDS_INVALID');
      expect((error as RigError).message).toContain('thresholds/x.json: a.b');
    }
    expect(() => parseThresholds({ 'a.b': '< 5ms' }, 'f')).toThrow(/must be an array/);
  });

  it('matches globs on whole ids', () => {
    expect(globMatches('queue.*.p99', 'queue.roundtrip.64B.p99')).toBe(true);
    expect(globMatches('queue.*.p99', 'queue.roundtrip.64B.p50')).toBe(false);
    expect(globMatches('queue.put', 'queue.put.x')).toBe(false);
  });
});
