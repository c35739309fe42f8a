// Public surface of the state store: suites and users import only from here.
import type { SystemHandle } from '../../harness/index.ts';
import type definition from './system.ts';

/** The typed handle suites start the store with: `startSystem(stateStoreSystem, { options })`. */
export const stateStoreSystem: SystemHandle<typeof definition> = { name: 'state-store' };

export { fromJsonDict, type SnapshotJson, SnapshotJsonSchema, toJsonDict } from './convert-json.ts';
export { fromProto, PROTO_PATH, toProto } from './convert-proto.ts';
export {
  isStateStoreError,
  STATE_STORE_ERRORS,
  StateStoreError,
  type StateStoreErrorCode,
} from './errors.ts';
export {
  encodeRecord,
  JOURNAL_HEADER,
  journalSnapshots,
  type RecoveryResult,
  recoverJournal,
  scanJournal,
} from './journal-format.ts';
export { type JournalIo, NODE_JOURNAL_IO, SpaceLimitedIo } from './journal-io.ts';
export type { FsyncPolicy } from './journal-writer.ts';
export type { OpenOptions, StoreOptions, SubscribeOptions } from './options.ts';
export {
  FSM_STATES,
  type FsmSnapshot,
  type FsmSnapshotInput,
  FsmSnapshotSchema,
  type FsmState,
  FsmStateSchema,
  type HistoryEntry,
  HistoryEntrySchema,
  TRANSITION_STATUSES,
  type TransitionStatus,
  TransitionStatusSchema,
} from './schema.ts';
export {
  DEFAULT_HISTORY_LIMIT,
  initialSnapshot,
  isTrustedSnapshot,
  type NextSnapshotOptions,
  nextSnapshot,
  parseSnapshot,
} from './snapshot.ts';
export { AsyncStateStore, type StoreMetrics } from './store.ts';
export {
  GapMarker,
  isGap,
  type OverflowPolicy,
  type StoreEvent,
  Subscription,
  type SubscriptionMetrics,
} from './subscription.ts';
export { assertTransition, isLegalTransition, TRANSITIONS } from './transitions.ts';
