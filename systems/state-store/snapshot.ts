import { StateStoreError } from './errors.ts';
import {
  type FsmSnapshot,
  FsmSnapshotSchema,
  type FsmState,
  type HistoryEntry,
  hasProtoKey,
  type TransitionStatus,
} from './schema.ts';
import { assertTransition } from './transitions.ts';

/** History entries kept by nextSnapshot when the caller names no limit. */
export const DEFAULT_HISTORY_LIMIT = 16;

/**
 * A snapshot that has been validated and deeply frozen. Only this module constructs it, and its
 * private brand cannot be copied or faked (not by a spread, not by Object.setPrototypeOf), so the
 * brand proves validation: the store's hot path accepts it without parsing again.
 */
class ValidSnapshot implements FsmSnapshot {
  readonly #validated = true;
  static isValidated(value: object): boolean {
    return #validated in value;
  }
  readonly version: number;
  readonly state: FsmState;
  readonly reason: string;
  readonly timestamp: number;
  readonly prevState: FsmState | undefined;
  readonly transitionStatus: TransitionStatus;
  readonly contextData: Readonly<Record<string, string>>;
  readonly history: readonly Readonly<HistoryEntry>[] | undefined;
  constructor(
    version: number,
    state: FsmState,
    reason: string,
    timestamp: number,
    prevState: FsmState | undefined,
    transitionStatus: TransitionStatus,
    contextData: Readonly<Record<string, string>>,
    history: readonly Readonly<HistoryEntry>[] | undefined,
  ) {
    this.version = version;
    this.state = state;
    this.reason = reason;
    this.timestamp = timestamp;
    this.prevState = prevState;
    this.transitionStatus = transitionStatus;
    this.contextData = contextData;
    this.history = history;
    Object.freeze(this);
  }
}

/** True when `s` came out of this module (validated and frozen): the store's trusted path. */
export function isTrustedSnapshot(s: unknown): s is FsmSnapshot {
  return typeof s === 'object' && s !== null && ValidSnapshot.isValidated(s);
}

/**
 * Validate any input against FsmSnapshotSchema (zod) and return a frozen, trusted snapshot.
 * Throws STATE_INVALID_SNAPSHOT naming every bad field. Trusted snapshots are returned as is.
 */
export function parseSnapshot(input: unknown): FsmSnapshot {
  if (isTrustedSnapshot(input)) return input;
  if (hasProtoKey(input)) {
    throw new StateStoreError(
      'STATE_INVALID_SNAPSHOT',
      'invalid snapshot: contextData: the key "__proto__" is not allowed',
    );
  }
  const parsed = FsmSnapshotSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
      .join('; ');
    throw new StateStoreError('STATE_INVALID_SNAPSHOT', `invalid snapshot: ${issues}`);
  }
  const d = parsed.data;
  return new ValidSnapshot(
    d.version,
    d.state,
    d.reason,
    d.timestamp,
    d.prevState,
    d.transitionStatus,
    Object.freeze(d.contextData),
    d.history === undefined ? undefined : Object.freeze(d.history.map((h) => Object.freeze(h))),
  );
}

/** Version 0: the machine is BOOTING. */
export function initialSnapshot(
  options: { contextData?: Record<string, string>; reason?: string; timestamp?: number } = {},
): FsmSnapshot {
  return parseSnapshot({
    version: 0,
    state: 'BOOTING',
    reason: options.reason ?? 'initial',
    timestamp: options.timestamp ?? Date.now(),
    transitionStatus: 'SUCCESS',
    contextData: { ...(options.contextData ?? {}) },
  });
}

export interface NextSnapshotOptions {
  /** Replace the context with this one (copied and checked: values must be strings). */
  contextData?: Record<string, string>;
  /** Merge these entries into the previous context (copied and checked). */
  mergeContext?: Record<string, string>;
  transitionStatus?: TransitionStatus;
  /** Milliseconds since the epoch; default Date.now(). */
  timestamp?: number;
  /** Append the previous step to `history`, keeping the last this many; default 16 when `prev` has a history, else no history. */
  historyLimit?: number;
}

function frozenContext(
  ctx: Record<string, string>,
  base?: Readonly<Record<string, string>>,
): Readonly<Record<string, string>> {
  const out: Record<string, string> = base ? { ...base } : {};
  for (const key of Object.keys(ctx)) {
    const value = ctx[key];
    if (key === '__proto__') {
      throw new StateStoreError('STATE_INVALID_SNAPSHOT', 'contextData: the key "__proto__" is not allowed');
    }
    if (typeof value !== 'string') {
      throw new StateStoreError(
        'STATE_INVALID_SNAPSHOT',
        `contextData.${key} must be a string, got ${typeof value}`,
      );
    }
    out[key] = value;
  }
  return Object.freeze(out);
}

/**
 * The snapshot that follows `prev`: version + 1, prevState = prev.state. Throws
 * STATE_ILLEGAL_TRANSITION when prev.state -> state is not allowed. The context is shared with
 * `prev` unless replaced or merged, so a plain transition allocates one object.
 */
export function nextSnapshot(
  prev: FsmSnapshot,
  state: FsmState,
  reason: string,
  options?: NextSnapshotOptions,
): FsmSnapshot {
  const p = isTrustedSnapshot(prev) ? prev : parseSnapshot(prev);
  assertTransition(p.state, state);
  if (p.version >= Number.MAX_SAFE_INTEGER) {
    throw new StateStoreError('STATE_INVALID_SNAPSHOT', `version ${p.version} cannot grow further`);
  }
  if (typeof reason !== 'string') {
    throw new StateStoreError('STATE_INVALID_SNAPSHOT', `reason must be a string, got ${typeof reason}`);
  }
  if (options === undefined && p.history === undefined) {
    return new ValidSnapshot(
      p.version + 1,
      state,
      reason,
      Date.now(),
      p.state,
      'SUCCESS',
      p.contextData,
      p.history,
    );
  }
  const o = options ?? {};
  const context = o.contextData
    ? frozenContext(o.contextData)
    : o.mergeContext
      ? frozenContext(o.mergeContext, p.contextData)
      : p.contextData;
  let history = p.history;
  const limit = o.historyLimit ?? (p.history ? DEFAULT_HISTORY_LIMIT : 0);
  if (limit > 0) {
    const entry: HistoryEntry = Object.freeze({
      version: p.version,
      state: p.state,
      reason: p.reason,
      timestamp: p.timestamp,
    });
    history = Object.freeze([...(p.history ?? []), entry].slice(-limit));
  }
  const timestamp = o.timestamp ?? Date.now();
  const status = o.transitionStatus ?? 'SUCCESS';
  // Options that reach the snapshot are checked here, so the result can be trusted.
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new StateStoreError(
      'STATE_INVALID_SNAPSHOT',
      `timestamp must be a non-negative integer, got ${timestamp}`,
    );
  }
  if (status !== 'SUCCESS' && status !== 'FAILED' && status !== 'PENDING') {
    throw new StateStoreError(
      'STATE_INVALID_SNAPSHOT',
      `transitionStatus must be SUCCESS, FAILED or PENDING`,
    );
  }
  return new ValidSnapshot(p.version + 1, state, reason, timestamp, p.state, status, context, history);
}
