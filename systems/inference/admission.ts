// Admission control: at most `slots` requests generate at once, at most `queueLimit` wait (FIFO).
// Beyond that: QUEUE_FULL (429 + Retry-After); a wait past `queueTimeoutMs`: QUEUE_TIMEOUT (503).
import { InferenceError } from './errors.ts';

interface Waiter {
  grant(): void;
  fail(e: Error): void;
}

export interface AdmissionStats {
  slots: number;
  busy: number;
  queued: number;
  queueLimit: number;
  admitted: number;
  rejected: number;
  timedOut: number;
}

export class Admission {
  private busy = 0;
  private readonly queue: Waiter[] = [];
  private admitted = 0;
  private rejected = 0;
  private timedOut = 0;

  constructor(
    private readonly slots: number,
    private readonly queueLimit: number,
    private readonly queueTimeoutMs: number,
  ) {}

  /**
   * A slot now, as a release function, or undefined when the caller must wait for one with
   * acquire(): the common case (a free slot) costs no promise and no turn of the microtask queue.
   */
  tryAcquire(): (() => void) | undefined {
    return this.busy < this.slots && this.queue.length === 0 ? this.grant() : undefined;
  }

  /** Waits for a slot; resolves to a release function (call it exactly once). */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.busy < this.slots && this.queue.length === 0) return this.grant();
    if (this.queue.length >= this.queueLimit) {
      this.rejected++;
      throw new InferenceError(
        'INFERENCE_QUEUE_FULL',
        `server busy: ${this.busy} of ${this.slots} slots generating and ${this.queue.length} requests queued (queueLimit ${this.queueLimit}); retry later`,
        { retryAfterS: 1 },
      );
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          clear();
          resolve();
        },
        fail: (e) => {
          clear();
          reject(e);
        },
      };
      const drop = () => {
        const i = this.queue.indexOf(waiter);
        if (i !== -1) this.queue.splice(i, 1);
      };
      const timer = setTimeout(() => {
        drop();
        this.timedOut++;
        waiter.fail(
          new InferenceError(
            'INFERENCE_QUEUE_TIMEOUT',
            `waited ${this.queueTimeoutMs} ms for a free slot (queueTimeoutMs); retry later`,
            { retryAfterS: 1 },
          ),
        );
      }, this.queueTimeoutMs);
      const onAbort = () => {
        drop();
        waiter.fail(new InferenceError('INFERENCE_CLIENT_CLOSED', 'client went away while queued'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const clear = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      this.queue.push(waiter);
    });
    return this.grant(true);
  }

  private grant(fromQueue = false): () => void {
    // A queued waiter was handed the slot of the releasing request: busy is already counted.
    if (!fromQueue) this.busy++;
    this.admitted++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) next.grant();
      else this.busy--;
    };
  }

  stats(): AdmissionStats {
    return {
      slots: this.slots,
      busy: this.busy,
      queued: this.queue.length,
      queueLimit: this.queueLimit,
      admitted: this.admitted,
      rejected: this.rejected,
      timedOut: this.timedOut,
    };
  }
}
