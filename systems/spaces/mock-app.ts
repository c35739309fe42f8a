// MockApp: a stand-in inference app. It dials the relay over socket.io, registers for its space,
// answers each inference_request after `delayMs` with `{ echo: input }` (or an error, with
// probability `failRate`), and reconnects with socket.io-client's exponential backoff with jitter,
// registering again after every reconnect. kill() drops the connection without a goodbye, like a
// crashed process; close() leaves cleanly.
import { EventEmitter } from 'node:events';
import { io, type Socket } from 'socket.io-client';
import { SpacesError } from './errors.ts';

export interface MockAppOptions {
  /** Relay base URL, e.g. http://127.0.0.1:8300 (socket.io path /socket.io). */
  url: string;
  spaceId: string;
  token: string;
  /** Delay before answering each request, ms. Default 0. */
  delayMs?: number;
  /** Probability (0-1) that a request is answered with an error. Default 0. */
  failRate?: number;
  /** Requests taken at once (sent as `concurrency` in register). Default 1. */
  concurrency?: number;
  /** Log each event to stderr. Default false. */
  verbose?: boolean;
  /** Output for an input; default `{ echo: input }`. */
  transform?: (input: unknown) => unknown;
  /** socket.io-client backoff: first delay, ceiling and jitter. Defaults 1000, 5000, 0.5. */
  reconnectionDelayMs?: number;
  reconnectionDelayMaxMs?: number;
  randomizationFactor?: number;
  /** Transports to use; default websocket only (the relay also accepts polling). */
  transports?: Array<'websocket' | 'polling'>;
  /** How long connect() waits for the first registration, ms. Default 10000. */
  connectTimeoutMs?: number;
  /** Random source for failRate, for deterministic tests. Default Math.random. */
  random?: () => number;
}

export interface MockAppCounters {
  /** inference_request events received (all attempts). */
  received: number;
  /** Answers the relay accepted (outputs and errors). */
  handled: number;
  /** Answers sent as errors (failRate). */
  failed: number;
  /** Answers the relay refused (late, or for a request it no longer gave this app). */
  rejected: number;
  /** inference_cancel events received. */
  cancelled: number;
  /** Successful registrations (1 + reconnects). */
  registrations: number;
}

export interface MockAppEvents {
  registered: [{ connectionId: string }];
  request: [{ request_id: string; input: unknown; attempt: number }];
  answered: [{ request_id: string; ok: boolean; error?: { code: string; message: string } }];
  refused: [SpacesError];
  disconnected: [string];
}

export class MockApp extends EventEmitter<MockAppEvents> {
  readonly counters: MockAppCounters = {
    received: 0,
    handled: 0,
    failed: 0,
    rejected: 0,
    cancelled: 0,
    registrations: 0,
  };
  /** Request ids received, in order (every attempt). */
  readonly seen: string[] = [];
  private socket: Socket | undefined;
  private readonly pending = new Set<NodeJS.Timeout>();
  private dead = false;

  constructor(readonly options: MockAppOptions) {
    super();
  }

  get connected(): boolean {
    return this.socket?.connected ?? false;
  }

  /** Connects and registers; resolves on the first `{ ok: true }`, rejects when refused or timed out. */
  connect(): Promise<void> {
    if (this.socket) throw new Error('MockApp.connect() called twice');
    const o = this.options;
    const socket = io(o.url, {
      path: '/socket.io',
      transports: o.transports ?? ['websocket'],
      reconnectionDelay: o.reconnectionDelayMs ?? 1000,
      reconnectionDelayMax: o.reconnectionDelayMaxMs ?? 5000,
      randomizationFactor: o.randomizationFactor ?? 0.5,
      forceNew: true,
    });
    this.socket = socket;
    socket.on('inference_request', (msg: { request_id: string; input: unknown; attempt: number }, ack) => {
      if (typeof ack === 'function') ack({ ok: true });
      this.onRequest(socket, msg);
    });
    socket.on('inference_cancel', (msg: { request_id: string }) => {
      this.counters.cancelled++;
      this.log(`cancel ${msg.request_id}`);
    });
    socket.on('disconnect', (reason) => {
      this.log(`disconnected: ${reason}`);
      this.emit('disconnected', reason);
    });

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(
          new SpacesError(
            'SPACES_CONNECT_FAILED',
            `not registered with ${o.url} after ${o.connectTimeoutMs ?? 10_000} ms`,
          ),
        );
      }, o.connectTimeoutMs ?? 10_000);
      socket.on('connect', () => {
        this.log(`connected as ${socket.id}; registering for ${o.spaceId}`);
        socket.emit(
          'register',
          { space_id: o.spaceId, token: o.token, concurrency: o.concurrency ?? 1 },
          (ack: { ok: boolean; connection_id?: string; error?: { code: string; message: string } }) => {
            if (ack?.ok) {
              this.counters.registrations++;
              this.emit('registered', { connectionId: ack.connection_id ?? '' });
              if (!settled) {
                settled = true;
                clearTimeout(timer);
                resolve();
              }
              return;
            }
            const err = new SpacesError(
              'SPACES_REGISTER_REFUSED',
              `${ack?.error?.code ?? 'unknown'}: ${ack?.error?.message ?? 'no answer'}`,
            );
            this.log(err.message);
            this.emit('refused', err);
            if (!settled) {
              settled = true;
              clearTimeout(timer);
              socket.disconnect();
              reject(err);
            }
          },
        );
      });
    });
  }

  private onRequest(socket: Socket, msg: { request_id: string; input: unknown; attempt: number }): void {
    this.counters.received++;
    this.seen.push(msg.request_id);
    this.emit('request', msg);
    this.log(`request ${msg.request_id} (attempt ${msg.attempt})`);
    const o = this.options;
    const answer = () => {
      if (this.dead || !socket.connected) return;
      const fail = (o.failRate ?? 0) > 0 && (o.random ?? Math.random)() < (o.failRate ?? 0);
      const payload = fail
        ? {
            request_id: msg.request_id,
            attempt: msg.attempt,
            error: { code: 'MOCK_FAILURE', message: 'failRate' },
          }
        : {
            request_id: msg.request_id,
            attempt: msg.attempt,
            output: o.transform ? o.transform(msg.input) : { echo: msg.input },
          };
      socket.emit(
        'inference_result',
        payload,
        (ack: { ok: boolean; error?: { code: string; message: string } }) => {
          if (ack?.ok) {
            this.counters.handled++;
            if (fail) this.counters.failed++;
          } else {
            this.counters.rejected++;
          }
          this.emit('answered', {
            request_id: msg.request_id,
            ok: ack?.ok ?? false,
            ...(ack?.error ? { error: ack.error } : {}),
          });
        },
      );
    };
    const delay = o.delayMs ?? 0;
    if (delay <= 0) {
      answer();
      return;
    }
    const t = setTimeout(() => {
      this.pending.delete(t);
      answer();
    }, delay);
    this.pending.add(t);
  }

  /** Leaves cleanly: no more answers, a socket.io disconnect, no reconnect. Safe to call twice. */
  async close(): Promise<void> {
    this.stopWork();
    this.socket?.disconnect();
  }

  /** Drops the transport without a socket.io goodbye and without reconnecting: the relay sees a crash. */
  kill(): void {
    this.stopWork();
    const s = this.socket;
    if (!s) return;
    s.io.reconnection(false);
    s.io.engine?.close();
  }

  private stopWork(): void {
    this.dead = true;
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
  }

  private log(line: string): void {
    if (this.options.verbose) process.stderr.write(`[mock-app ${this.options.spaceId}] ${line}\n`);
  }
}
