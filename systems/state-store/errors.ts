/**
 * Every error the state store raises on purpose. Each has a stable `code` (listed in README.md;
 * a unit test keeps the two in step) and a hint that says what to do about it.
 */
export const STATE_STORE_ERRORS = {
  STATE_INVALID_SNAPSHOT: 'build snapshots with initialSnapshot()/nextSnapshot() or fix the named field',
  STATE_INVALID_OPTIONS: 'fix the named option; README.md lists the options and their ranges',
  STATE_STALE_VERSION: 'read the current snapshot with get() and build the next one from it',
  STATE_ILLEGAL_TRANSITION: 'see TRANSITIONS in transitions.ts for the allowed state changes',
  STATE_STORE_CLOSED: 'the store was closed; open a new one',
  STATE_SUBSCRIBER_OVERFLOW: 'consume faster, raise queueSize, or use overflow "drop-oldest"/"drop-newest"',
  STATE_DECODE_FAILED: 'the bytes or dict are not a snapshot of this schema version',
  STATE_JOURNAL_CORRUPT:
    'a record in the middle of the journal is damaged; open with onCorruption: "truncate" to keep the valid prefix',
  STATE_JOURNAL_IO:
    'the journal could not be read or written (a full disk, a failing device); free space or fix the device: the next write tries the journal again, no reopen needed',
} as const;

export type StateStoreErrorCode = keyof typeof STATE_STORE_ERRORS;

export class StateStoreError extends Error {
  override readonly name = 'StateStoreError';
  readonly code: StateStoreErrorCode;
  readonly hint: string;
  constructor(code: StateStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${message} (${code}: ${STATE_STORE_ERRORS[code]})`, options);
    this.code = code;
    this.hint = STATE_STORE_ERRORS[code];
  }
}

export function isStateStoreError(error: unknown, code?: StateStoreErrorCode): error is StateStoreError {
  return error instanceof StateStoreError && (code === undefined || error.code === code);
}
