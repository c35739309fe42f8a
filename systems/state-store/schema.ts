import { z } from 'zod';

/** The states of the agent's finite-state machine. */
export const FSM_STATES = ['BOOTING', 'IDLE', 'ACTIVE', 'ERROR_STATE', 'SHUTDOWN'] as const;
export const FsmStateSchema = z.enum(FSM_STATES);
export type FsmState = z.infer<typeof FsmStateSchema>;

/** Outcome of the transition that produced a snapshot. */
export const TRANSITION_STATUSES = ['SUCCESS', 'FAILED', 'PENDING'] as const;
export const TransitionStatusSchema = z.enum(TRANSITION_STATUSES);
export type TransitionStatus = z.infer<typeof TransitionStatusSchema>;

/** Largest version and timestamp: versions are JS numbers, exact up to 2^53 - 1. */
const SafeUint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/**
 * Context keys: any string but `__proto__`, which a plain object cannot hold as data (zod's
 * record would drop it silently, so hasProtoKey() is checked before parsing).
 */
export const ContextKeySchema = z
  .string()
  .refine((k) => k !== '__proto__', 'the key "__proto__" is not allowed');

/** True when `input.contextData` holds an own `__proto__` key (as JSON.parse can make). */
export function hasProtoKey(input: unknown): boolean {
  const ctx = (input as { contextData?: unknown } | null | undefined)?.contextData;
  return typeof ctx === 'object' && ctx !== null && Object.hasOwn(ctx, '__proto__');
}

/** One earlier step, kept in a snapshot's optional bounded `history`. */
export const HistoryEntrySchema = z
  .object({
    version: SafeUint,
    state: FsmStateSchema,
    reason: z.string(),
    timestamp: SafeUint,
  })
  .strict();
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

/**
 * A versioned snapshot of the state machine. `timestamp` is milliseconds since the Unix epoch.
 * `version` grows by exactly one per accepted write (nextSnapshot does that for you).
 */
export const FsmSnapshotSchema = z
  .object({
    version: SafeUint,
    state: FsmStateSchema,
    reason: z.string(),
    timestamp: SafeUint,
    prevState: FsmStateSchema.optional(),
    transitionStatus: TransitionStatusSchema,
    contextData: z.record(ContextKeySchema, z.string()),
    history: z.array(HistoryEntrySchema).optional(),
  })
  .strict();

/** The snapshot as callers read it: deeply read-only (validated snapshots are frozen). */
export interface FsmSnapshot {
  readonly version: number;
  readonly state: FsmState;
  readonly reason: string;
  readonly timestamp: number;
  readonly prevState?: FsmState | undefined;
  readonly transitionStatus: TransitionStatus;
  readonly contextData: Readonly<Record<string, string>>;
  readonly history?: readonly Readonly<HistoryEntry>[] | undefined;
}

/** What a caller may hand in to be validated (a plain object, e.g. parsed JSON). */
export type FsmSnapshotInput = z.input<typeof FsmSnapshotSchema>;
