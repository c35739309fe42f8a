import { describe, expect, it } from 'vitest';
import {
  FSM_STATES,
  type FsmState,
  initialSnapshot,
  isLegalTransition,
  isStateStoreError,
  isTrustedSnapshot,
  nextSnapshot,
  parseSnapshot,
  TRANSITIONS,
} from '../index.ts';

describe('snapshots', () => {
  it('starts at version 0 in BOOTING, frozen and trusted', () => {
    const s = initialSnapshot({ contextData: { a: '1' } });
    expect(s).toMatchObject({
      version: 0,
      state: 'BOOTING',
      transitionStatus: 'SUCCESS',
      contextData: { a: '1' },
    });
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.contextData)).toBe(true);
    expect(isTrustedSnapshot(s)).toBe(true);
  });

  it('nextSnapshot advances the version by one and records the previous state', () => {
    const s0 = initialSnapshot();
    const s1 = nextSnapshot(s0, 'IDLE', 'booted');
    expect(s1).toMatchObject({ version: 1, state: 'IDLE', prevState: 'BOOTING', reason: 'booted' });
    expect(s1.contextData).toBe(s0.contextData);
    const s2 = nextSnapshot(s1, 'ACTIVE', 'work', {
      mergeContext: { task: 't1' },
      transitionStatus: 'PENDING',
    });
    expect(s2).toMatchObject({ version: 2, contextData: { task: 't1' }, transitionStatus: 'PENDING' });
    expect(s1.contextData).toEqual({});
  });

  it('keeps a bounded history when asked', () => {
    let s = nextSnapshot(initialSnapshot(), 'IDLE', 'up', { historyLimit: 3 });
    for (let i = 0; i < 10; i++)
      s = nextSnapshot(s, i % 2 ? 'IDLE' : 'ACTIVE', `step ${i}`, { historyLimit: 3 });
    expect(s.history).toHaveLength(3);
    expect(s.history?.map((h) => h.version)).toEqual([8, 9, 10]);
    // Without options a history, once there, keeps growing up to the default limit.
    for (let i = 0; i < 20; i++) s = nextSnapshot(s, 'ACTIVE', 'more');
    expect(s.history).toHaveLength(16);
    expect(s.history?.at(-1)?.version).toBe(s.version - 1);
  });

  it('follows the transition table: nothing leaves SHUTDOWN', () => {
    for (const from of FSM_STATES) {
      for (const to of FSM_STATES) {
        expect(isLegalTransition(from, to)).toBe(TRANSITIONS[from].includes(to));
      }
    }
    const down = nextSnapshot(nextSnapshot(initialSnapshot(), 'IDLE', 'up'), 'SHUTDOWN', 'bye');
    for (const to of FSM_STATES) {
      expect(() => nextSnapshot(down, to, 'again')).toThrow(/SHUTDOWN -> .* is not allowed/);
    }
    try {
      nextSnapshot(initialSnapshot(), 'ACTIVE', 'skip');
    } catch (error) {
      expect(isStateStoreError(error, 'STATE_ILLEGAL_TRANSITION')).toBe(true);
    }
    expect(() => nextSnapshot(initialSnapshot(), 'NOPE' as FsmState, 'x')).toThrow(/not allowed/);
  });

  it('cannot be tricked into trusting a forged snapshot', () => {
    const proto = Object.getPrototypeOf(initialSnapshot());
    const forged = Object.setPrototypeOf({ ...initialSnapshot(), version: -5 }, proto);
    expect(forged instanceof proto.constructor).toBe(true);
    expect(isTrustedSnapshot(forged)).toBe(false);
    expect(() => parseSnapshot(forged)).toThrow(/version/);
    expect(isTrustedSnapshot(Object.create(proto))).toBe(false);
  });

  it('validates plain objects with zod and names the bad fields', () => {
    const good = { ...initialSnapshot() };
    expect(isTrustedSnapshot(good)).toBe(false);
    expect(isTrustedSnapshot(parseSnapshot(good))).toBe(true);
    const cases: Array<[unknown, RegExp]> = [
      [{ ...good, version: -1 }, /version/],
      [{ ...good, version: 1.5 }, /version/],
      [{ ...good, state: 'RUNNING' }, /state/],
      [{ ...good, transitionStatus: 'OK' }, /transitionStatus/],
      [{ ...good, contextData: { a: 1 } }, /contextData\.a/],
      [{ ...good, extra: true }, /extra|Unrecognized/],
      [null, /root/],
      [{ ...good, contextData: JSON.parse('{"__proto__":"x"}') }, /__proto__/],
    ];
    for (const [input, message] of cases) {
      try {
        parseSnapshot(input);
        expect.unreachable();
      } catch (error) {
        expect(isStateStoreError(error, 'STATE_INVALID_SNAPSHOT')).toBe(true);
        expect((error as Error).message).toMatch(message);
      }
    }
  });

  it('rejects a context value that is not a string and a bad timestamp in nextSnapshot', () => {
    const s = initialSnapshot();
    expect(() => nextSnapshot(s, 'IDLE', 'x', { mergeContext: { a: 3 as unknown as string } })).toThrow(
      /contextData\.a/,
    );
    expect(() => nextSnapshot(s, 'IDLE', 'x', { timestamp: -5 })).toThrow(/timestamp/);
  });
});
