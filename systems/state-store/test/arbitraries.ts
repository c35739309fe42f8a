import fc from 'fast-check';
import { FSM_STATES, type FsmSnapshotInput, TRANSITION_STATUSES } from '../index.ts';

const safeUint = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 31 }),
  fc.constantFrom(0, 2 ** 32, 2 ** 53 - 1),
  fc.maxSafeNat(),
);
const text = fc.string({ unit: 'binary', maxLength: 40 });

/** Random valid snapshots, including the edges: int64 beyond 2^32, unicode, empty and absent history. */
export const snapshotArb: fc.Arbitrary<FsmSnapshotInput> = fc.record(
  {
    version: safeUint,
    state: fc.constantFrom(...FSM_STATES),
    reason: text,
    timestamp: safeUint,
    prevState: fc.constantFrom(...FSM_STATES),
    transitionStatus: fc.constantFrom(...TRANSITION_STATUSES),
    // `__proto__` is refused as a context key (tested in snapshot.test.ts), so it is left out here.
    contextData: fc.dictionary(
      text.filter((k) => k !== '__proto__'),
      text,
      { maxKeys: 12 },
    ),
    history: fc.array(
      fc.record({
        version: safeUint,
        state: fc.constantFrom(...FSM_STATES),
        reason: text,
        timestamp: safeUint,
      }),
      { maxLength: 5 },
    ),
  },
  { requiredKeys: ['version', 'state', 'reason', 'timestamp', 'transitionStatus', 'contextData'] },
);
