import { unlinkSync } from 'node:fs';
import type { z } from 'zod';
import { errorFromStatus, MessageTooLarge, QueueClosed, QueueError, Status } from '../errors.ts';
import { decode, encode } from './codec.ts';
import { JOINED, Lane, READABLE, WRITABLE } from './lanes.ts';
import { callNative, type NativeQueue, type NativeStats, native, segmentPath } from './native.ts';
import {
  type CreateOptions,
  CreateOptionsSchema,
  type HandleOptions,
  HandleOptionsSchema,
  type JoinOptions,
  JoinOptionsSchema,
  NAME,
  parse,
  type SyncWaitOptions,
  SyncWaitOptionsSchema,
  type WaitOptions,
  WaitOptionsSchema,
} from './options.ts';
import { assertQueuePlatform } from './platform.ts';

export interface QueueStats extends NativeStats {
  /** usedBytes / capacity, 0..1 (records, headers and wrap padding). */
  utilisation: number;
  /** payloadBytes / capacity, 0..1: how much of the ring holds message bytes. */
  efficiency: number;
}

const INITIAL_SCRATCH = 64 * 1024;
/**
 * Raw get() hands out slices of an arena, as Node's Buffer pool does: one allocation per arena,
 * no copy out of a scratch buffer. A slice keeps its arena alive; messages above
 * ARENA_MAX_MESSAGE get a Buffer of their own.
 */
const ARENA_BYTES = 16 * 1024;
const ARENA_MAX_MESSAGE = 4 * 1024;
/** What a call without options gets (the schema's defaults). */
const WAIT_DEFAULTS: ParsedWait = Object.freeze({ block: true });
/** Settles every put that completes at once. */
const RESOLVED: Promise<void> = Promise.resolve();
/** takeOne() on an empty queue. */
const NOTHING = Symbol('nothing');
type ParsedWait = z.output<typeof WaitOptionsSchema>;
const RECORD_HEADER = 8;
/** Ring bytes a message of n bytes takes: its header and the payload padded to 8. */
const recordSize = (n: number): number => RECORD_HEADER + Math.ceil(n / 8) * 8;

/**
 * A handle on a named shared-memory queue, in the spirit of Python's queue.Queue. Any process or
 * worker thread that knows the name attaches with `Queue.open(name)`. Values travel through
 * node:v8 serialisation (mode `value`) or as bytes (mode `raw`).
 */
export class Queue<T = unknown> {
  readonly name: string;
  readonly mode: 'value' | 'raw';
  readonly capacityBytes: number;
  readonly maxMessageBytes: number;
  private h: NativeQueue | undefined;
  private scratch: Buffer;
  private arena = Buffer.allocUnsafeSlow(ARENA_BYTES);
  private arenaAt = 0;
  private readonly lens = new Uint32Array(4096);
  private readonly readers: Lane;
  private readonly writers: Lane;
  private readonly joiners: Lane;
  private readonly spin: number;

  private constructor(name: string, h: NativeQueue, options: { mode: 'value' | 'raw'; spin: number }) {
    this.name = name;
    this.h = h;
    this.mode = options.mode;
    this.spin = options.spin;
    this.capacityBytes = h.capacity();
    this.maxMessageBytes = h.maxMessage();
    this.scratch = Buffer.allocUnsafeSlow(Math.min(this.maxMessageBytes, INITIAL_SCRATCH));
    h.setArena(this.arena);
    this.readers = new Lane(() => this.h, READABLE, this.spin, `get ${name}`);
    this.writers = new Lane(() => this.h, WRITABLE, this.spin, `put ${name}`);
    this.joiners = new Lane(() => this.h, JOINED, this.spin, `join ${name}`);
  }

  /** Creates the named segment (QUEUE_EXISTS when it exists) and attaches to it. */
  static create<T = unknown>(name: string, options: CreateOptions = {}): Queue<T> {
    assertQueuePlatform();
    const n = parse(NAME, name, 'name');
    const o = parse(CreateOptionsSchema, options, 'options');
    const max = o.maxMessageBytes ?? o.capacityBytes - RECORD_HEADER;
    if (max > o.capacityBytes - RECORD_HEADER) {
      throw new QueueError(
        'QUEUE_INVALID_ARGUMENT',
        `options.maxMessageBytes: ${max} exceeds capacityBytes - 8 = ${o.capacityBytes - RECORD_HEADER}`,
      );
    }
    const Native = native().NativeQueue;
    const h = callNative(`create ${n}`, () => new Native(0, n, o.capacityBytes, max));
    return new Queue<T>(n, h, o);
  }

  /** Attaches to an existing queue by name (QUEUE_NOT_FOUND, QUEUE_CORRUPT). */
  static open<T = unknown>(name: string, options: HandleOptions = {}): Queue<T> {
    assertQueuePlatform();
    const n = parse(NAME, name, 'name');
    const o = parse(HandleOptionsSchema, options, 'options');
    const Native = native().NativeQueue;
    const h = callNative(`open ${n}`, () => new Native(1, n));
    return new Queue<T>(n, h, o);
  }

  /** Removes the named segment; attached handles keep working until they close. False if absent. */
  static unlink(name: string): boolean {
    assertQueuePlatform();
    const n = parse(NAME, name, 'name');
    const st = native().NativeQueue.unlink(n);
    if (st === Status.NOT_FOUND) return false;
    if (st !== Status.OK) throw errorFromStatus(st, `unlink ${n}`);
    return true;
  }

  /** The segment's path in /dev/shm. */
  static segmentPath(name: string): string {
    return segmentPath(parse(NAME, name, 'name'));
  }

  // ---- values (mode value) or bytes (mode raw) ----

  /**
   * Puts one message; waits while the queue is full (block, timeout in ms: QueueFull after it).
   * When the ring has room the message is copied in at once and an already-resolved promise is
   * returned: no waiter thread, no option parsing without options.
   */
  put(value: T, options?: WaitOptions): Promise<void> {
    let o: ParsedWait;
    let bytes: Uint8Array;
    try {
      o = options === undefined ? WAIT_DEFAULTS : parse(WaitOptionsSchema, options, 'put options');
      bytes = this.toBytes(value);
      if (this.tryPut(bytes)) return RESOLVED;
      if (!o.block) throw errorFromStatus(Status.FULL, `put ${this.name}`);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      this.writers.add({
        attempt: () => {
          if (!this.tryPut(bytes)) return false;
          resolve();
          return true;
        },
        need: recordSize(bytes.byteLength),
        deadline: o.timeout === undefined ? undefined : Date.now() + o.timeout,
        fail: reject,
      });
    });
  }

  /** Puts one message now or throws QueueFull. */
  putNowait(value: T): void {
    if (!this.tryPut(this.toBytes(value))) throw errorFromStatus(Status.FULL, `putNowait ${this.name}`);
  }

  /**
   * Takes the oldest message; waits while the queue is empty (QueueEmpty after timeout ms). When a
   * message is there it is taken at once and returned in an already-resolved promise.
   */
  get(options?: WaitOptions): Promise<T> {
    let o: ParsedWait;
    try {
      o = options === undefined ? WAIT_DEFAULTS : parse(WaitOptionsSchema, options, 'get options');
      const first = this.takeOne();
      if (first !== NOTHING) return Promise.resolve(first);
      if (!o.block) throw errorFromStatus(Status.EMPTY, `get ${this.name}`);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<T>((resolve, reject) => {
      this.readers.add({
        attempt: () => {
          const r = this.takeOne();
          if (r === NOTHING) return false;
          resolve(r);
          return true;
        },
        deadline: o.timeout === undefined ? undefined : Date.now() + o.timeout,
        fail: reject,
      });
    });
  }

  /** Takes the oldest message now or throws QueueEmpty. */
  getNowait(): T {
    const r = this.takeOne();
    if (r === NOTHING) throw errorFromStatus(Status.EMPTY, `getNowait ${this.name}`);
    return r;
  }

  /** Puts as many as fit under one lock; returns how many were put (0 when full). */
  putManyNowait(values: readonly T[]): number {
    const encoded = values.map((v) => this.toBytes(v));
    return this.putEncoded(encoded, 0);
  }

  /** Puts all values in order, waiting for room as needed. */
  async putMany(values: readonly T[], options: WaitOptions = {}): Promise<void> {
    const o = parse(WaitOptionsSchema, options, 'putMany options');
    const encoded = values.map((v) => this.toBytes(v));
    let at = this.putEncoded(encoded, 0);
    if (at === encoded.length) return;
    if (!o.block) throw errorFromStatus(Status.FULL, `putMany ${this.name} (${at} put)`);
    return new Promise<void>((resolve, reject) => {
      const pending = {
        attempt: () => {
          at += this.putEncoded(encoded, at);
          if (at < encoded.length) {
            pending.need = recordSize(encoded[at]!.byteLength);
            return false;
          }
          resolve();
          return true;
        },
        need: recordSize(encoded[at]!.byteLength),
        deadline: o.timeout === undefined ? undefined : Date.now() + o.timeout,
        fail: reject,
      };
      this.writers.add(pending);
    });
  }

  /** Takes up to `max` messages under one lock; [] when empty. */
  getManyNowait(max: number): T[] {
    return this.tryGetMany(max);
  }

  /** Takes 1..max messages, waiting while the queue is empty. */
  async getMany(max: number, options: WaitOptions = {}): Promise<T[]> {
    const o = parse(WaitOptionsSchema, options, 'getMany options');
    const first = this.tryGetMany(max);
    if (first.length > 0) return first;
    if (!o.block) throw errorFromStatus(Status.EMPTY, `getMany ${this.name}`);
    return new Promise<T[]>((resolve, reject) => {
      this.readers.add({
        attempt: () => {
          const got = this.tryGetMany(max);
          if (got.length === 0) return false;
          resolve(got);
          return true;
        },
        deadline: o.timeout === undefined ? undefined : Date.now() + o.timeout,
        fail: reject,
      });
    });
  }

  // ---- tasks, as Python's JoinableQueue: the count lives in the segment, so any process may
  // mark a message done and any process may join ----

  /**
   * Marks one message as processed. Every put adds an unfinished task; taskDone() removes one.
   * QUEUE_TASK_DONE_TOO_MANY when there is none left to mark (Python raises ValueError).
   */
  taskDone(): void {
    const st = this.handle().taskDone();
    if (st !== Status.OK) throw errorFromStatus(st, `taskDone ${this.name}`);
  }

  /** Messages put (by any process) and not yet marked done (a snapshot). */
  unfinishedTasks(): number {
    return this.handle().unfinished();
  }

  /**
   * Waits until every message put so far, by any process, was marked done. QUEUE_JOIN_TIMEOUT after
   * timeout ms; QueueClosed when the queue is shut down while tasks are unfinished.
   */
  join(options: JoinOptions = {}): Promise<void> {
    let o: z.output<typeof JoinOptionsSchema>;
    try {
      o = parse(JoinOptionsSchema, options, 'join options');
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      this.joiners.add({
        attempt: () => {
          const h = this.handle();
          if (h.unfinished() === 0) {
            resolve();
            return true;
          }
          if (h.isClosed())
            throw new QueueClosed(`join ${this.name}: the queue was shut down with tasks unfinished`);
          return false;
        },
        deadline: o.timeout === undefined ? undefined : Date.now() + o.timeout,
        fail: reject,
      });
    });
  }

  // ---- synchronous blocking calls, for dedicated loops (they block the calling thread) ----

  /** Gets, blocking this thread up to timeout ms (spin, then futex). QueueEmpty on timeout. */
  getSync(options: SyncWaitOptions = {}): T {
    const o = parse(SyncWaitOptionsSchema, options, 'getSync options');
    for (;;) {
      const n = this.handle().getSync(this.scratch, o.timeout ?? -1, o.spin ?? this.spin);
      if (n >= 0) return this.fromScratch(n);
      if (-n === Status.BUF_SMALL) this.growScratch(this.handle().needed());
      else throw errorFromStatus(-n, `getSync ${this.name}`);
    }
  }

  /** Puts, blocking this thread up to timeout ms while full. QueueFull on timeout. */
  putSync(value: T, options: SyncWaitOptions = {}): void {
    const o = parse(SyncWaitOptionsSchema, options, 'putSync options');
    const st = this.handle().putSync(this.toBytes(value), o.timeout ?? -1, o.spin ?? this.spin);
    if (st !== Status.OK)
      throw errorFromStatus(st === Status.TIMEOUT ? Status.FULL : st, `putSync ${this.name}`);
  }

  /**
   * Raw fast path: copies the oldest message into `target` and returns its length, without
   * creating a Buffer. Throws QueueEmpty, or QUEUE_BUFFER_TOO_SMALL (the message stays queued).
   */
  getInto(target: Uint8Array): number {
    const n = this.handle().get(target);
    if (n >= 0) return n;
    throw errorFromStatus(
      -n,
      `getInto ${this.name}`,
      -n === Status.BUF_SMALL ? `needs ${this.handle().needed()} B` : '',
    );
  }

  /** getInto that blocks this thread up to timeout ms. */
  getIntoSync(target: Uint8Array, options: SyncWaitOptions = {}): number {
    const o = parse(SyncWaitOptionsSchema, options, 'getIntoSync options');
    const n = this.handle().getSync(target, o.timeout ?? -1, o.spin ?? this.spin);
    if (n >= 0) return n;
    throw errorFromStatus(-n, `getIntoSync ${this.name}`);
  }

  /** Raw fast path: copies messages into `target` back to back; lengths go to `lens`. Returns the count (0 when empty). */
  getManyInto(target: Uint8Array, lens: Uint32Array, max = lens.length): number {
    const n = this.handle().getBatch(target, lens, Math.min(max, lens.length));
    if (n > 0) return n;
    if (-n === Status.EMPTY) return 0;
    throw errorFromStatus(-n, `getManyInto ${this.name}`);
  }

  /** Raw fast path: puts `lens.length` messages laid back to back in `data`; returns how many fit. */
  putManyFrom(data: Uint8Array, lens: Uint32Array, count = lens.length): number {
    const n = this.handle().putBatch(data, lens, count);
    if (n > 0) return n;
    if (n === 0 || -n === Status.FULL) return 0;
    throw errorFromStatus(-n, `putManyFrom ${this.name}`);
  }

  // ---- state ----

  /** Messages held now (exact at the moment of the call, across processes). */
  qsize(): number {
    return this.handle().count();
  }

  empty(): boolean {
    return this.qsize() === 0;
  }

  /** True when not even an empty message fits. */
  full(): boolean {
    const s = this.handle().stats();
    return s.usedBytes + RECORD_HEADER > s.capacity;
  }

  stats(): QueueStats {
    const s = callNative(`stats ${this.name}`, () => this.handle().stats());
    return { ...s, utilisation: s.usedBytes / s.capacity, efficiency: s.payloadBytes / s.capacity };
  }

  /** True once any process called shutdown(). */
  get isShutdown(): boolean {
    return this.handle().isClosed();
  }

  /** True once this handle was closed. */
  get closed(): boolean {
    return this.h === undefined;
  }

  /**
   * Closes the queue for every process: puts throw QueueClosed, gets drain what is left and then
   * throw QueueClosed, blocked callers everywhere wake.
   */
  shutdown(): void {
    const st = this.handle().shutdown();
    if (st !== Status.OK) throw errorFromStatus(st, `shutdown ${this.name}`);
  }

  /** Detaches this handle; its blocked calls reject with QueueClosed. The messages stay. Idempotent. */
  close(): void {
    const h = this.h;
    if (!h) return;
    this.h = undefined;
    const error = new QueueClosed(`${this.name}: this handle was closed`);
    this.readers.failAll(error);
    this.writers.failAll(error);
    this.joiners.failAll(error);
    h.close();
  }

  /** close() and remove the segment. Idempotent. */
  destroy(): void {
    this.close();
    try {
      unlinkSync(segmentPath(this.name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Fault injection for crash tests, never for production use: `hold-lock` takes the queue's
   * lock and sleeps forever (kill the process to test recovery); `die-mid-put` puts `value` and
   * SIGKILLs this process half-way through applying the change.
   */
  injectFault(mode: 'hold-lock' | 'die-mid-put', value?: T): never {
    const bytes = value === undefined ? new Uint8Array(0) : this.toBytes(value);
    const st = this.handle().debugFault(mode === 'hold-lock' ? 1 : 2, bytes);
    throw errorFromStatus(st, `injectFault ${this.name}`);
  }

  // ---- internals ----

  private handle(): NativeQueue {
    if (!this.h)
      throw new QueueClosed(`${this.name}: this handle is closed; Queue.open(name) attaches again`);
    return this.h;
  }

  private toBytes(value: T): Uint8Array {
    let bytes: Uint8Array;
    if (this.mode === 'raw') {
      if (!(value instanceof Uint8Array)) {
        throw new QueueError(
          'QUEUE_INVALID_ARGUMENT',
          `${this.name} is in raw mode: put a Buffer or Uint8Array`,
        );
      }
      bytes = value;
    } else {
      bytes = encode(value);
    }
    if (bytes.byteLength > this.maxMessageBytes) {
      throw new MessageTooLarge(
        `${this.name}: ${bytes.byteLength} B > maxMessageBytes ${this.maxMessageBytes} B`,
      );
    }
    return bytes;
  }

  private tryPut(bytes: Uint8Array): boolean {
    const st = this.handle().put(bytes);
    if (st === Status.OK) return true;
    if (st === Status.FULL) return false;
    throw errorFromStatus(st, `put ${this.name}`);
  }

  private putEncoded(encoded: Uint8Array[], from: number): number {
    const h = this.handle();
    let at = from;
    while (at < encoded.length) {
      let bytes = 0;
      let k = 0;
      while (at + k < encoded.length && k < this.lens.length) {
        const len = encoded[at + k]!.byteLength;
        if (k > 0 && bytes + len > this.scratch.length) break;
        bytes += len;
        k++;
      }
      if (bytes > this.scratch.length) this.growScratch(bytes);
      let off = 0;
      for (let i = 0; i < k; i++) {
        const e = encoded[at + i]!;
        this.scratch.set(e, off);
        this.lens[i] = e.byteLength;
        off += e.byteLength;
      }
      const n = h.putBatch(this.scratch, this.lens, k);
      if (n > 0) at += n;
      if (n < k) {
        if (n <= 0 && -n !== Status.FULL) throw errorFromStatus(-n, `putMany ${this.name}`);
        break;
      }
    }
    return at - from;
  }

  /** The oldest message, or NOTHING when the queue is empty. */
  private takeOne(): T | typeof NOTHING {
    const h = this.handle();
    if (this.mode === 'raw') return this.takeRaw(h) as T | typeof NOTHING;
    for (;;) {
      const n = h.get(this.scratch);
      if (n >= 0) return this.fromScratch(n);
      if (-n === Status.EMPTY) return NOTHING;
      if (-n === Status.BUF_SMALL) this.growScratch(h.needed());
      else throw errorFromStatus(-n, `get ${this.name}`);
    }
  }

  /** Raw: the oldest message as a slice of the arena (8-byte aligned), or NOTHING. */
  private takeRaw(h: NativeQueue): Buffer | typeof NOTHING {
    for (;;) {
      const at = this.arenaAt;
      const n = h.take(at);
      if (n >= 0) {
        this.arenaAt = (at + n + 7) & ~7;
        return this.arena.subarray(at, at + n);
      }
      if (-n === Status.EMPTY) return NOTHING;
      if (-n !== Status.BUF_SMALL) throw errorFromStatus(-n, `get ${this.name}`);
      const need = h.needed();
      if (need > ARENA_MAX_MESSAGE) {
        const own = Buffer.allocUnsafeSlow(need);
        const m = h.getAt(own, 0);
        if (m >= 0) return own.subarray(0, m);
        if (-m === Status.EMPTY) return NOTHING;
        if (-m !== Status.BUF_SMALL) throw errorFromStatus(-m, `get ${this.name}`);
        continue; // another consumer took it and a larger one is next
      }
      this.arena = Buffer.allocUnsafeSlow(ARENA_BYTES);
      this.arenaAt = 0;
      h.setArena(this.arena);
    }
  }

  private tryGetMany(max: number): T[] {
    const h = this.handle();
    const limit = Math.max(1, Math.min(Math.floor(max), this.lens.length));
    for (;;) {
      const n = h.getBatch(this.scratch, this.lens, limit);
      if (n > 0) {
        const out: T[] = new Array(n);
        let off = 0;
        for (let i = 0; i < n; i++) {
          const len = this.lens[i]!;
          out[i] = this.decodeAt(off, len);
          off += len;
        }
        return out;
      }
      if (-n === Status.EMPTY) return [];
      if (-n === Status.BUF_SMALL) this.growScratch(h.needed());
      else throw errorFromStatus(-n, `getMany ${this.name}`);
    }
  }

  private fromScratch(n: number): T {
    return this.decodeAt(0, n);
  }

  private decodeAt(off: number, len: number): T {
    if (this.mode === 'raw') {
      const out = Buffer.allocUnsafe(len); // from Node's pool below 4 KiB
      this.scratch.copy(out, 0, off, off + len);
      return out as T;
    }
    return decode(this.scratch, off, len) as T;
  }

  private growScratch(atLeast = this.scratch.length * 2): void {
    const size = Math.min(
      Math.max(atLeast, this.scratch.length * 2),
      Math.max(atLeast, this.maxMessageBytes),
    );
    this.scratch = Buffer.allocUnsafeSlow(size);
  }
}
