import { errorFromStatus, QueueClosed, QueueError, Status } from '../errors.ts';
import type { NativeQueue } from './native.ts';

export const READABLE = 0;
export const WRITABLE = 1;
export const JOINED = 2;

/** One blocked call: `attempt` returns true when it completed (it resolves its own promise). */
interface Pending {
  attempt(): boolean;
  /** Puts: the ring bytes the next attempt needs (header + payload padded to 8). */
  need?: number;
  deadline: number | undefined;
  fail(error: Error): void;
}

/**
 * The blocked calls of one kind (gets wait for "readable", puts for "writable") on one handle.
 * While any is pending, one native wait runs on the handle's waiter thread for that kind; when
 * a message (gets) or room for the smallest pending record (puts) appears, or the earliest
 * deadline passes, every pending call retries in FIFO order. The event loop and libuv's
 * threadpool are never blocked.
 */
export class Lane {
  private readonly pending: Pending[] = [];
  private armed = false;

  constructor(
    private readonly handle: () => NativeQueue | undefined,
    private readonly kind: typeof READABLE | typeof WRITABLE | typeof JOINED,
    private readonly spin: number,
    private readonly what: string,
  ) {}

  add(p: Pending): void {
    this.pending.push(p);
    this.pump();
  }

  get size(): number {
    return this.pending.length;
  }

  /** Rejects every pending call (the handle is closing). */
  failAll(error: Error): void {
    for (const p of this.pending.splice(0)) p.fail(error);
  }

  private pump(): void {
    if (this.armed) return;
    const h = this.handle();
    if (!h) {
      this.failAll(new QueueClosed(`${this.what}: this handle is closed`));
      return;
    }
    const now = Date.now();
    for (let i = 0; i < this.pending.length; ) {
      const p = this.pending[i]!;
      let done: boolean;
      try {
        done = p.attempt();
      } catch (error) {
        this.pending.splice(i, 1);
        p.fail(error as Error);
        continue;
      }
      if (done) {
        this.pending.splice(i, 1);
      } else if (p.deadline !== undefined && p.deadline <= now) {
        this.pending.splice(i, 1);
        p.fail(
          this.kind === JOINED
            ? new QueueError('QUEUE_JOIN_TIMEOUT', `${this.what}: tasks still unfinished after the timeout`)
            : errorFromStatus(
                this.kind === READABLE ? Status.EMPTY : Status.FULL,
                `${this.what} (timed out)`,
              ),
        );
      } else {
        i++;
      }
    }
    if (this.pending.length === 0) return;
    let deadline = Number.POSITIVE_INFINITY;
    let need = Number.POSITIVE_INFINITY;
    for (const p of this.pending) {
      if (p.deadline !== undefined && p.deadline < deadline) deadline = p.deadline;
      need = Math.min(need, p.need ?? 0);
    }
    const timeout = Number.isFinite(deadline) ? Math.max(0, deadline - now) : -1;
    this.armed = true;
    h.waitAsync(this.kind, need, timeout, this.spin, (status) => {
      this.armed = false;
      if (status === Status.CANCELLED) {
        this.failAll(new QueueClosed(`${this.what}: this handle was closed while waiting`));
        return;
      }
      this.pump();
    });
  }
}
