import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { StateStoreError } from './errors.ts';
import {
  FSM_STATES,
  type FsmSnapshot,
  type FsmState,
  TRANSITION_STATUSES,
  type TransitionStatus,
} from './schema.ts';
import { parseSnapshot } from './snapshot.ts';

/** The .proto file that defines the wire format (package rig.statestore.v1). */
export const PROTO_PATH = fileURLToPath(new URL('./proto/state_store.proto', import.meta.url));

const root = protobuf.loadSync(PROTO_PATH);
const SnapshotType = root.lookupType('rig.statestore.v1.FsmSnapshot');

// Enum numbers follow the order of the names in schema.ts; 0 is each enum's UNSPECIFIED.
const STATE_NUMBER = Object.fromEntries(FSM_STATES.map((s, i) => [s, i + 1])) as Record<FsmState, number>;
const STATUS_NUMBER = Object.fromEntries(TRANSITION_STATUSES.map((s, i) => [s, i + 1])) as Record<
  TransitionStatus,
  number
>;

type LongLike = number | { toNumber(): number; high: number; low: number; unsigned: boolean };

function int64ToNumber(value: LongLike | undefined, field: string): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  // Above 2^53 a Long no longer fits a JS number exactly: refuse rather than round.
  const n = value.toNumber();
  if (!Number.isSafeInteger(n)) {
    throw new StateStoreError('STATE_DECODE_FAILED', `${field} ${n} is outside the exact integer range`);
  }
  return n;
}

function enumName<T extends string>(names: readonly T[], value: unknown, field: string): T {
  const name = typeof value === 'number' ? names[value - 1] : undefined;
  if (name === undefined) {
    throw new StateStoreError('STATE_DECODE_FAILED', `${field} has unknown enum value ${String(value)}`);
  }
  return name;
}

/** Snapshot -> protobuf binary (rig.statestore.v1.FsmSnapshot). */
export function toProto(snapshot: FsmSnapshot): Uint8Array {
  const s = parseSnapshot(snapshot);
  const message: Record<string, unknown> = {
    version: s.version,
    state: STATE_NUMBER[s.state],
    reason: s.reason,
    timestamp: s.timestamp,
    transitionStatus: STATUS_NUMBER[s.transitionStatus],
    contextData: s.contextData,
  };
  if (s.prevState !== undefined) message.prevState = STATE_NUMBER[s.prevState];
  if (s.history !== undefined) {
    message.history = {
      entries: s.history.map((h) => ({
        version: h.version,
        state: STATE_NUMBER[h.state],
        reason: h.reason,
        timestamp: h.timestamp,
      })),
    };
  }
  return SnapshotType.encode(message).finish();
}

interface DecodedEntry {
  version?: LongLike;
  state?: number;
  reason?: string;
  timestamp?: LongLike;
}

/** Protobuf binary -> a validated, trusted snapshot. Throws STATE_DECODE_FAILED or STATE_INVALID_SNAPSHOT. */
export function fromProto(bytes: Uint8Array): FsmSnapshot {
  let m: Record<string, unknown>;
  try {
    m = SnapshotType.decode(bytes) as unknown as Record<string, unknown>;
  } catch (error) {
    throw new StateStoreError(
      'STATE_DECODE_FAILED',
      `not a FsmSnapshot message: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const has = (k: string) => Object.hasOwn(m, k);
  const history = has('history')
    ? ((m.history as { entries?: DecodedEntry[] }).entries ?? []).map((h, i) => ({
        version: int64ToNumber(h.version, `history.${i}.version`),
        state: enumName(FSM_STATES, h.state ?? 0, `history.${i}.state`),
        reason: h.reason ?? '',
        timestamp: int64ToNumber(h.timestamp, `history.${i}.timestamp`),
      }))
    : undefined;
  return parseSnapshot({
    version: int64ToNumber(m.version as LongLike | undefined, 'version'),
    state: enumName(FSM_STATES, m.state ?? 0, 'state'),
    reason: (m.reason as string | undefined) ?? '',
    timestamp: int64ToNumber(m.timestamp as LongLike | undefined, 'timestamp'),
    ...(has('prevState') ? { prevState: enumName(FSM_STATES, m.prevState, 'prevState') } : {}),
    transitionStatus: enumName(TRANSITION_STATUSES, m.transitionStatus ?? 0, 'transitionStatus'),
    contextData: { ...((m.contextData as Record<string, string> | undefined) ?? {}) },
    ...(history ? { history } : {}),
  });
}
