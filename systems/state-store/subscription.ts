import { StateStoreError } from './errors.ts';
import type { FsmSnapshot } from './schema.ts';

export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'error';

/**
 * Stands in the stream for versions a subscriber did not receive (its queue overflowed).
 * `missed` counts them exactly: when both ends are known, missed = nextVersion - afterVersion - 1.
 */
export class GapMarker {
  readonly type = 'gap' as const;
  constructor(
    /** How many versions were dropped here. */
    readonly missed: number,
    /** The last version this subscriber received before the gap (-1: none yet). */
    readonly afterVersion: number,
    /** The first version after the gap, or undefined when none is queued yet (call store.get()). */
    readonly nextVersion: number | undefined,
  ) {
    Object.freeze(this);
  }
}

/** What a subscription yields: every snapshot in version order, or a gap marker in place of missed ones. */
export type StoreEvent = FsmSnapshot | GapMarker;

export function isGap(event: StoreEvent): event is GapMarker {
  return event instanceof GapMarker;
}

export interface SubscriptionMetrics {
  id: number;
  queueSize: number;
  overflow: OverflowPolicy;
  state: 'open' | 'closed' | 'failed' | 'unsubscribed';
  queued: number;
  delivered: number;
  dropped: number;
  highWater: number;
}

type Waiter = (result: IteratorResult<StoreEvent>) => void;
const DONE: IteratorResult<StoreEvent> = Object.freeze({ value: undefined, done: true });
const DONE_PROMISE = Promise.resolve(DONE);

/**
 * One subscriber's bounded queue: a ring of `queueSize` slots that never grows. The store pushes
 * into it without waiting (set() is never blocked by a subscriber); when the ring is full the
 * overflow policy decides, and every dropped version is counted into a gap marker.
 * Consume it with `for await`, or with poll() for batch draining.
 */
export class Subscription implements AsyncIterableIterator<StoreEvent> {
  readonly id: number;
  readonly queueSize: number;
  readonly overflow: OverflowPolicy;
  private ring: Array<FsmSnapshot | undefined>;
  /** missed[slot]: versions dropped just before the snapshot in that slot. */
  private missed: Float64Array;
  private head = 0;
  private size = 0;
  /** Versions dropped after the newest queued snapshot. */
  private tailGap = 0;
  private lastVersion: number;
  private waiter: Waiter | undefined;
  private failure: StateStoreError | undefined;
  private failedWith: StateStoreError | undefined;
  private status: SubscriptionMetrics['state'] = 'open';
  private readonly onRemove: (sub: Subscription) => void;
  delivered = 0;
  dropped = 0;
  highWater = 0;

  /** @internal created by AsyncStateStore.subscribe(). */
  constructor(
    id: number,
    queueSize: number,
    overflow: OverflowPolicy,
    lastVersion: number,
    onRemove: (sub: Subscription) => void,
  ) {
    this.id = id;
    this.queueSize = queueSize;
    this.overflow = overflow;
    this.ring = new Array(queueSize).fill(undefined);
    this.missed = new Float64Array(queueSize);
    this.lastVersion = lastVersion;
    this.onRemove = onRemove;
  }

  /** @internal called by the store for every accepted snapshot, in version order; never waits. */
  push(snapshot: FsmSnapshot): void {
    if (this.status !== 'open') return;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      // The consumer is parked on an empty queue (and no gap is pending): hand it over directly.
      this.waiter = undefined;
      this.delivered++;
      this.lastVersion = snapshot.version;
      waiter({ value: snapshot, done: false });
      return;
    }
    const cap = this.queueSize;
    if (this.size === cap) {
      if (this.overflow === 'drop-newest') {
        this.tailGap++;
        this.dropped++;
        return;
      }
      if (this.overflow === 'error') {
        this.dropped++;
        this.fail(
          new StateStoreError(
            'STATE_SUBSCRIBER_OVERFLOW',
            `subscriber ${this.id} fell ${cap} versions behind (queueSize ${cap}) at version ${snapshot.version}`,
          ),
        );
        return;
      }
      // drop-oldest: the oldest queued version becomes part of the gap before the next one.
      const carry = this.missed[this.head]! + 1;
      this.missed[this.head] = 0;
      this.ring[this.head] = undefined;
      this.head = this.head + 1 === cap ? 0 : this.head + 1;
      this.size--;
      this.dropped++;
      if (this.size > 0) this.missed[this.head]! += carry;
      else this.tailGap += carry;
    }
    let slot = this.head + this.size;
    if (slot >= cap) slot -= cap;
    this.ring[slot] = snapshot;
    this.missed[slot] = this.tailGap;
    this.tailGap = 0;
    this.size++;
    if (this.size > this.highWater) this.highWater = this.size;
  }

  /** The next event without waiting, or undefined when nothing is queued. */
  poll(): StoreEvent | undefined {
    if (this.size > 0) {
      const slot = this.head;
      const snapshot = this.ring[slot]!;
      const missed = this.missed[slot]!;
      if (missed > 0) {
        this.missed[slot] = 0;
        const after = this.lastVersion;
        this.lastVersion += missed;
        return new GapMarker(missed, after, snapshot.version);
      }
      this.ring[slot] = undefined;
      this.head = slot + 1 === this.queueSize ? 0 : slot + 1;
      this.size--;
      this.delivered++;
      this.lastVersion = snapshot.version;
      return snapshot;
    }
    if (this.tailGap > 0) {
      const missed = this.tailGap;
      this.tailGap = 0;
      const after = this.lastVersion;
      this.lastVersion += missed;
      return new GapMarker(missed, after, undefined);
    }
    return undefined;
  }

  next(): Promise<IteratorResult<StoreEvent>> {
    const event = this.poll();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.status === 'open') {
      if (this.waiter !== undefined) {
        return Promise.reject(
          new Error(`subscriber ${this.id}: next() called again before the previous one settled`),
        );
      }
      return new Promise<IteratorResult<StoreEvent>>((resolve) => {
        this.waiter = resolve;
      });
    }
    if (this.status === 'failed' && this.failure) {
      const failure = this.failure;
      this.failure = undefined;
      return Promise.reject(failure);
    }
    return DONE_PROMISE;
  }

  /** Stop receiving; the queue is released at once. Safe to call twice. */
  unsubscribe(): void {
    if (this.status === 'unsubscribed') return;
    const wasActive = this.status === 'open';
    this.status = 'unsubscribed';
    this.release();
    if (wasActive) this.onRemove(this);
  }

  return(): Promise<IteratorResult<StoreEvent>> {
    this.unsubscribe();
    return DONE_PROMISE;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<StoreEvent> {
    return this;
  }

  /** @internal the store closed: what is queued is still delivered, then the iteration ends. */
  end(): void {
    if (this.status !== 'open') return;
    this.status = 'closed';
    this.wake();
  }

  get metrics(): SubscriptionMetrics {
    return {
      id: this.id,
      queueSize: this.queueSize,
      overflow: this.overflow,
      state: this.status,
      queued: this.size,
      delivered: this.delivered,
      dropped: this.dropped,
      highWater: this.highWater,
    };
  }

  /** Slots currently held (for memory checks): never more than queueSize. */
  get queued(): number {
    return this.size;
  }

  /** The overflow error that ended this subscription (policy "error"), if any. */
  get error(): StateStoreError | undefined {
    return this.failedWith;
  }

  private fail(error: StateStoreError): void {
    this.failedWith = error;
    this.status = 'failed';
    this.failure = error;
    this.onRemove(this);
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    // A consumer parks only on an empty queue, which never overflows, so ending is all it can learn here.
    this.waiter = undefined;
    waiter(DONE);
  }

  private release(): void {
    this.ring = [];
    this.missed = new Float64Array(0);
    this.size = 0;
    this.head = 0;
    this.tailGap = 0;
    this.wake();
  }
}
