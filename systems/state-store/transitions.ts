import { StateStoreError } from './errors.ts';
import type { FsmState } from './schema.ts';

/**
 * The allowed transitions: `TRANSITIONS[from]` lists every state `from` may move to. Staying in
 * the same state (a context update) is allowed except in SHUTDOWN, which nothing leaves.
 */
export const TRANSITIONS: Readonly<Record<FsmState, readonly FsmState[]>> = Object.freeze({
  BOOTING: ['BOOTING', 'IDLE', 'ERROR_STATE', 'SHUTDOWN'],
  IDLE: ['IDLE', 'ACTIVE', 'ERROR_STATE', 'SHUTDOWN'],
  ACTIVE: ['ACTIVE', 'IDLE', 'ERROR_STATE', 'SHUTDOWN'],
  ERROR_STATE: ['ERROR_STATE', 'BOOTING', 'IDLE', 'SHUTDOWN'],
  SHUTDOWN: [],
});

/** Bit masks of TRANSITIONS, so that the hot path checks a transition with one AND. */
const STATE_BIT: Readonly<Record<FsmState, number>> = {
  BOOTING: 1,
  IDLE: 2,
  ACTIVE: 4,
  ERROR_STATE: 8,
  SHUTDOWN: 16,
};
const ALLOWED_MASK: Readonly<Record<FsmState, number>> = Object.fromEntries(
  Object.entries(TRANSITIONS).map(([from, tos]) => [from, tos.reduce((m, to) => m | STATE_BIT[to], 0)]),
) as Record<FsmState, number>;

export function isLegalTransition(from: FsmState, to: FsmState): boolean {
  return (ALLOWED_MASK[from] & STATE_BIT[to]) !== 0;
}

/** Throws STATE_ILLEGAL_TRANSITION when `from -> to` is not in TRANSITIONS. */
export function assertTransition(from: FsmState, to: FsmState): void {
  if (!isLegalTransition(from, to)) {
    const allowed = TRANSITIONS[from];
    throw new StateStoreError(
      'STATE_ILLEGAL_TRANSITION',
      `${from} -> ${to} is not allowed; from ${from} the allowed states are ${allowed.length ? allowed.join(', ') : 'none'}`,
    );
  }
}
