import { z } from 'zod';
import { StateStoreError } from './errors.ts';
import {
  ContextKeySchema,
  type FsmSnapshot,
  FsmStateSchema,
  hasProtoKey,
  TransitionStatusSchema,
} from './schema.ts';
import { parseSnapshot } from './snapshot.ts';

/** int64 the ProtoJSON way: a decimal string (numbers are accepted on input too). */
const Int64Json = z.union([
  z.string().regex(/^\d{1,16}$/, 'must be a decimal integer string'),
  z.number().int(),
]);

const HistoryEntryJson = z
  .object({
    version: Int64Json.default('0'),
    state: FsmStateSchema,
    reason: z.string().default(''),
    timestamp: Int64Json.default('0'),
  })
  .strict();

/**
 * The JSON dict of a snapshot, shaped like the ProtoJSON of rig.statestore.v1.FsmSnapshot:
 * camelCase names, enum names, int64 as decimal strings, history wrapped as { entries }.
 * Fields left out take their proto3 defaults, as ProtoJSON allows.
 */
export const SnapshotJsonSchema = z
  .object({
    version: Int64Json.default('0'),
    state: FsmStateSchema,
    reason: z.string().default(''),
    timestamp: Int64Json.default('0'),
    prevState: FsmStateSchema.optional(),
    transitionStatus: TransitionStatusSchema,
    contextData: z.record(ContextKeySchema, z.string()).default({}),
    history: z
      .object({ entries: z.array(HistoryEntryJson).default([]) })
      .strict()
      .optional(),
  })
  .strict();

export type SnapshotJson = z.input<typeof SnapshotJsonSchema>;

/** Snapshot -> JSON dict (every field written, int64 as strings). */
export function toJsonDict(snapshot: FsmSnapshot): SnapshotJson {
  const s = parseSnapshot(snapshot);
  const out: SnapshotJson = {
    version: String(s.version),
    state: s.state,
    reason: s.reason,
    timestamp: String(s.timestamp),
    transitionStatus: s.transitionStatus,
    contextData: { ...s.contextData },
  };
  if (s.prevState !== undefined) out.prevState = s.prevState;
  if (s.history !== undefined) {
    out.history = {
      entries: s.history.map((h) => ({
        version: String(h.version),
        state: h.state,
        reason: h.reason,
        timestamp: String(h.timestamp),
      })),
    };
  }
  return out;
}

function int64(value: string | number, field: string): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n)) {
    throw new StateStoreError('STATE_DECODE_FAILED', `${field} ${value} is outside the exact integer range`);
  }
  return n;
}

/** JSON dict -> a validated, trusted snapshot. Throws STATE_DECODE_FAILED or STATE_INVALID_SNAPSHOT. */
export function fromJsonDict(dict: unknown): FsmSnapshot {
  if (hasProtoKey(dict)) {
    throw new StateStoreError(
      'STATE_DECODE_FAILED',
      'not a snapshot JSON dict: contextData: the key "__proto__" is not allowed',
    );
  }
  const parsed = SnapshotJsonSchema.safeParse(dict);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
      .join('; ');
    throw new StateStoreError('STATE_DECODE_FAILED', `not a snapshot JSON dict: ${issues}`);
  }
  const d = parsed.data;
  return parseSnapshot({
    version: int64(d.version, 'version'),
    state: d.state,
    reason: d.reason,
    timestamp: int64(d.timestamp, 'timestamp'),
    ...(d.prevState !== undefined ? { prevState: d.prevState } : {}),
    transitionStatus: d.transitionStatus,
    contextData: d.contextData,
    ...(d.history !== undefined
      ? {
          history: d.history.entries.map((h, i) => ({
            version: int64(h.version, `history.${i}.version`),
            state: h.state,
            reason: h.reason,
            timestamp: int64(h.timestamp, `history.${i}.timestamp`),
          })),
        }
      : {}),
  });
}
