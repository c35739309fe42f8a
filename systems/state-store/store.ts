import { StateStoreError } from './errors.ts';
import { type RecoveryResult, recoverJournal } from './journal-format.ts';
import { NODE_JOURNAL_IO } from './journal-io.ts';
import { JournalWriter } from './journal-writer.ts';
import {
  type OpenOptions,
  OpenOptionsSchema,
  parseOptions,
  type StoreOptions,
  StoreOptionsSchema,
  type SubscribeOptions,
  SubscribeOptionsSchema,
} from './options.ts';
import type { FsmSnapshot, FsmSnapshotInput } from './schema.ts';
import { initialSnapshot, isTrustedSnapshot, parseSnapshot } from './snapshot.ts';
import { Subscription, type SubscriptionMetrics } from './subscription.ts';
import { isLegalTransition, TRANSITIONS } from './transitions.ts';

export interface StoreMetrics {
  /** Accepted writes (set and successful compareAndSet). */
  total_sets: number;
  total_gets: number;
  /** Writes refused: invalid, stale version, illegal transition, journal failed. */
  rejected: number;
  /** compareAndSet calls that found another version than expected. */
  cas_conflicts: number;
  /** Open subscriptions. */
  subscribers: number;
  /** Snapshots handed to subscribers, all subscriptions ever. */
  delivered: number;
  /** Versions dropped by full queues, all subscriptions ever. */
  dropped: number;
  /** Largest queue depth any subscriber reached. */
  queue_high_water: number;
  version: number;
  per_subscriber: SubscriptionMetrics[];
  journal?: {
    file: string;
    fsync: string;
    /** Records appended, and their bytes (frames included). */
    appended: number;
    bytes: number;
    syncs: number;
    compactions: number;
    /** Compactions that failed (a full disk): the journal was kept as it was. */
    compactionErrors: number;
    /** Whether the journal refuses writes now; `error` says why. */
    failed: boolean;
    error?: string;
    /** Times the journal failed, and times a later write found it working again. */
    failures: number;
    recoveries: number;
  };
}

const RESOLVED: Promise<void> = Promise.resolve();
const TRUE: Promise<boolean> = Promise.resolve(true);
const FALSE: Promise<boolean> = Promise.resolve(false);

/**
 * A versioned store of FSM snapshots. Reads are immediate; a write is applied (and fanned out to
 * subscribers) when called and its promise resolves when it is acknowledged: at once in memory,
 * after the journal write under the fsync policy when opened with a journal.
 */
export class AsyncStateStore {
  private current: FsmSnapshot;
  private readonly enforceTransitions: boolean;
  /** Copy-on-write: a set() iterates the array it started with, even if a subscriber leaves meanwhile. */
  private subs: Subscription[] = [];
  private nextSubId = 1;
  private closed = false;
  private closing: Promise<void> | undefined;
  private journal: JournalWriter | undefined;
  private sets = 0;
  private gets = 0;
  private rejects = 0;
  private conflicts = 0;
  private retiredDelivered = 0;
  private retiredDropped = 0;
  private retiredHighWater = 0;
  /** What open() found in the journal; undefined for an in-memory store. */
  recovery: RecoveryResult | undefined;

  constructor(options?: StoreOptions) {
    const o = parseOptions(StoreOptionsSchema, options, 'options');
    this.current = o.initial === undefined ? initialSnapshot() : parseSnapshot(o.initial);
    this.enforceTransitions = o.enforceTransitions;
  }

  /**
   * A store backed by a journal: recovers the last intact snapshot (a torn tail is dropped), then
   * appends every accepted snapshot. Throws STATE_JOURNAL_CORRUPT or STATE_JOURNAL_IO.
   */
  static async open(options: OpenOptions): Promise<AsyncStateStore> {
    const o = parseOptions(OpenOptionsSchema, options, 'options');
    const io = o.io ?? NODE_JOURNAL_IO;
    const recovery = recoverJournal(o.journal, { onCorruption: o.onCorruption, compact: o.compact, io });
    const store = new AsyncStateStore({
      initial: recovery.last ?? o.initial,
      enforceTransitions: o.enforceTransitions,
    });
    store.recovery = recovery;
    store.journal = new JournalWriter(o.journal, {
      policy: o.fsync,
      fsyncIntervalMs: o.fsyncIntervalMs,
      maxBytes: o.maxJournalBytes,
      io,
      compactOnClose: o.compact,
    });
    if (recovery.last === undefined) {
      try {
        await store.journal.append(store.current);
      } catch (error) {
        await store.close();
        throw error;
      }
    }
    return store;
  }

  /** The current snapshot (frozen). Never waits. */
  get(): FsmSnapshot {
    if (this.closed) throw this.closedError('get');
    this.gets++;
    return this.current;
  }

  /** The current version, without counting a read. */
  get version(): number {
    return this.current.version;
  }

  /**
   * Write a snapshot newer than the current one. Snapshots from nextSnapshot()/parseSnapshot()
   * are trusted as validated; any other object is validated with zod first. Rejects with
   * STATE_STALE_VERSION, STATE_ILLEGAL_TRANSITION, STATE_INVALID_SNAPSHOT, STATE_STORE_CLOSED
   * or STATE_JOURNAL_IO.
   */
  set(snapshot: FsmSnapshot | FsmSnapshotInput): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError('set'));
    let s: FsmSnapshot;
    if (isTrustedSnapshot(snapshot)) s = snapshot;
    else {
      try {
        s = parseSnapshot(snapshot);
      } catch (error) {
        this.rejects++;
        return Promise.reject(error);
      }
    }
    const cur = this.current;
    if (s.version <= cur.version) {
      this.rejects++;
      return Promise.reject(
        new StateStoreError(
          'STATE_STALE_VERSION',
          `version ${s.version} is not newer than the current version ${cur.version}`,
        ),
      );
    }
    const refused = this.checkTransition(cur, s);
    if (refused) return refused;
    return this.apply(s);
  }

  /**
   * Write `next` only if the current version is `expectedVersion`; `next.version` must be
   * expectedVersion + 1, so every success advances the version by exactly one. Resolves false
   * when another write came first (read again and retry); rejects on bad input like set().
   */
  compareAndSet(expectedVersion: number, next: FsmSnapshot | FsmSnapshotInput): Promise<boolean> {
    if (this.closed) return Promise.reject(this.closedError('compareAndSet'));
    let s: FsmSnapshot;
    if (isTrustedSnapshot(next)) s = next;
    else {
      try {
        s = parseSnapshot(next);
      } catch (error) {
        this.rejects++;
        return Promise.reject(error);
      }
    }
    if (s.version !== expectedVersion + 1) {
      this.rejects++;
      return Promise.reject(
        new StateStoreError(
          'STATE_INVALID_SNAPSHOT',
          `compareAndSet(${expectedVersion}, next) needs next.version ${expectedVersion + 1}, got ${s.version}`,
        ),
      );
    }
    const cur = this.current;
    if (cur.version !== expectedVersion) {
      this.conflicts++;
      return FALSE;
    }
    const refused = this.checkTransition(cur, s);
    if (refused) return refused;
    const ack = this.apply(s);
    return ack === RESOLVED ? TRUE : ack.then(() => true);
  }

  /**
   * A bounded subscription: yields every later snapshot in version order, or a GapMarker
   * counting the versions its full queue dropped. It never slows set() down.
   */
  subscribe(options?: SubscribeOptions): Subscription {
    if (this.closed) throw this.closedError('subscribe');
    const o = parseOptions(SubscribeOptionsSchema, options, 'subscribe');
    const cur = this.current;
    const sub = new Subscription(
      this.nextSubId++,
      o.queueSize,
      o.overflow,
      o.includeCurrent ? cur.version - 1 : cur.version,
      (s) => this.remove(s),
    );
    this.subs = [...this.subs, sub];
    if (o.includeCurrent) sub.push(cur);
    return sub;
  }

  getMetrics(): StoreMetrics {
    let delivered = this.retiredDelivered;
    let dropped = this.retiredDropped;
    let highWater = this.retiredHighWater;
    const per: SubscriptionMetrics[] = [];
    for (const sub of this.subs) {
      const m = sub.metrics;
      per.push(m);
      delivered += m.delivered;
      dropped += m.dropped;
      if (m.highWater > highWater) highWater = m.highWater;
    }
    const metrics: StoreMetrics = {
      total_sets: this.sets,
      total_gets: this.gets,
      rejected: this.rejects,
      cas_conflicts: this.conflicts,
      subscribers: this.subs.length,
      delivered,
      dropped,
      queue_high_water: highWater,
      version: this.current.version,
      per_subscriber: per,
    };
    if (this.journal) {
      const j = this.journal;
      metrics.journal = {
        file: j.file,
        fsync: j.policy,
        appended: j.appended,
        bytes: j.appendedBytes,
        syncs: j.syncs,
        compactions: j.compactions,
        compactionErrors: j.compactionErrors,
        failed: j.failure !== undefined,
        ...(j.failure ? { error: j.failure.message } : {}),
        failures: j.failures,
        recoveries: j.recoveries,
      };
    }
    return metrics;
  }

  /** Ends every subscription (queued snapshots are still delivered), flushes and closes the journal. Safe to call twice. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    const subs = this.subs;
    this.subs = [];
    for (const sub of subs) {
      this.retire(sub);
      sub.end();
    }
    this.closing = this.journal ? this.journal.close() : RESOLVED;
    return this.closing;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private checkTransition(cur: FsmSnapshot, s: FsmSnapshot): Promise<never> | undefined {
    if (!this.enforceTransitions || isLegalTransition(cur.state, s.state)) return undefined;
    this.rejects++;
    const allowed = TRANSITIONS[cur.state];
    return Promise.reject(
      new StateStoreError(
        'STATE_ILLEGAL_TRANSITION',
        `${cur.state} -> ${s.state} is not allowed; from ${cur.state}: ${allowed.length ? allowed.join(', ') : 'none'}`,
      ),
    );
  }

  private apply(s: FsmSnapshot): Promise<void> {
    const journal = this.journal;
    // A failed journal (a full disk ...) is tried again by each write: the write is refused,
    // unapplied, until the journal holds the current snapshot again.
    if (journal?.failure && !journal.recover(this.current)) {
      this.rejects++;
      return Promise.reject(journal.failure);
    }
    this.current = s;
    this.sets++;
    const subs = this.subs;
    for (let i = 0; i < subs.length; i++) subs[i]!.push(s);
    return journal === undefined ? RESOLVED : journal.append(s);
  }

  private remove(sub: Subscription): void {
    const i = this.subs.indexOf(sub);
    if (i < 0) return;
    this.retire(sub);
    this.subs = this.subs.filter((x) => x !== sub);
  }

  private retire(sub: Subscription): void {
    this.retiredDelivered += sub.delivered;
    this.retiredDropped += sub.dropped;
    if (sub.highWater > this.retiredHighWater) this.retiredHighWater = sub.highWater;
  }

  private closedError(op: string): StateStoreError {
    return new StateStoreError('STATE_STORE_CLOSED', `${op}() on a closed store`);
  }
}
