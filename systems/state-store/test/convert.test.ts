import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fromJsonDict,
  fromProto,
  initialSnapshot,
  isStateStoreError,
  isTrustedSnapshot,
  nextSnapshot,
  parseSnapshot,
  toJsonDict,
  toProto,
} from '../index.ts';
import { snapshotArb } from './arbitraries.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isStateStoreError(error) ? error.code : `unexpected ${String(error)}`;
  }
  return undefined;
}

describe('protobuf converter', () => {
  it('round-trips random snapshots losslessly (property)', () => {
    fc.assert(
      fc.property(snapshotArb, (input) => {
        const s = parseSnapshot(input);
        const back = fromProto(toProto(s));
        assert.deepEqual(back, s);
        assert.ok(isTrustedSnapshot(back));
        assert.equal(Object.hasOwn(input, 'history'), back.history !== undefined);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps int64 values above 2^32 exact', () => {
    const s = parseSnapshot({ ...initialSnapshot(), version: 2 ** 53 - 1, timestamp: 2 ** 40 + 7 });
    expect(fromProto(toProto(s))).toMatchObject({ version: 2 ** 53 - 1, timestamp: 2 ** 40 + 7 });
  });

  it('refuses bytes that are not a snapshot', () => {
    expect(codeOf(() => fromProto(Uint8Array.from([1, 2, 3, 4, 5])))).toBe('STATE_DECODE_FAILED');
    // a valid message without a state (enum 0 = UNSPECIFIED)
    expect(codeOf(() => fromProto(new Uint8Array(0)))).toBe('STATE_DECODE_FAILED');
  });
});

describe('JSON dict converter', () => {
  it('round-trips random snapshots losslessly, also through JSON text (property)', () => {
    fc.assert(
      fc.property(snapshotArb, (input) => {
        const s = parseSnapshot(input);
        const dict = toJsonDict(s);
        assert.equal(typeof dict.version, 'string');
        assert.equal(typeof dict.timestamp, 'string');
        assert.deepEqual(fromJsonDict(dict), s);
        assert.deepEqual(fromJsonDict(JSON.parse(JSON.stringify(dict))), s);
      }),
      { numRuns: 500 },
    );
  });

  it('writes int64 as strings the ProtoJSON way and reads numbers or omitted defaults', () => {
    const s = nextSnapshot(initialSnapshot({ timestamp: 1_700_000_000_123 }), 'IDLE', 'up', {
      timestamp: 1_700_000_000_456,
    });
    expect(toJsonDict(s)).toMatchObject({
      version: '1',
      timestamp: '1700000000456',
      state: 'IDLE',
      prevState: 'BOOTING',
    });
    expect(fromJsonDict({ ...toJsonDict(s), version: 1, timestamp: 1_700_000_000_456 })).toStrictEqual(s);
    expect(fromJsonDict({ state: 'BOOTING', transitionStatus: 'SUCCESS' })).toMatchObject({
      version: 0,
      reason: '',
      timestamp: 0,
      contextData: {},
    });
  });

  it('refuses dicts that are not a snapshot, naming the field', () => {
    const dict = toJsonDict(initialSnapshot());
    expect(codeOf(() => fromJsonDict({ ...dict, version: 'seven' }))).toBe('STATE_DECODE_FAILED');
    expect(codeOf(() => fromJsonDict({ ...dict, version: '99999999999999999' }))).toBe('STATE_DECODE_FAILED');
    expect(codeOf(() => fromJsonDict({ ...dict, state: 'RUNNING' }))).toBe('STATE_DECODE_FAILED');
    expect(codeOf(() => fromJsonDict('nope'))).toBe('STATE_DECODE_FAILED');
    expect(() => fromJsonDict({ ...dict, extra: 1 })).toThrow(/extra|Unrecognized/);
  });
});
