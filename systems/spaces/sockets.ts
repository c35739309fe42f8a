// socket.io on the server's one port, default path /socket.io. Namespace `/` is for apps (register,
// inference_request, inference_result, inference_cancel); namespace `/viewers` is for browsers
// (watch a space's state, follow a request's updates). Every payload is validated; every answer is
// an ack `{ ok: true, ... }` or `{ ok: false, error: { code, message } }`.
import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { SpacesConfig } from './config.ts';
import { SpacesError } from './errors.ts';
import type { AppLink, Relay, RequestView } from './relay.ts';
import { FollowSchema, parseOrThrow, RegisterSchema, ResultSchema, WatchSchema } from './schemas.ts';

type Ack = (answer: unknown) => void;
const noop: Ack = () => undefined;
const ackOf = (a: unknown): Ack => (typeof a === 'function' ? (a as Ack) : noop);

function fail(e: unknown): { ok: false; error: { code: string; message: string } } {
  if (e instanceof SpacesError) return e.toAck();
  return { ok: false, error: { code: 'SPACES_INTERNAL_ERROR', message: (e as Error).message } };
}

/** How often a changed space's state is pushed to its viewers, at most, ms. */
const SPACE_STATE_EVERY_MS = 100;

export interface SocketLayer {
  readonly io: Server;
  /** Relay hooks: push space state and request updates to the viewers who asked for them. */
  spaceChanged(spaceId: string): void;
  requestUpdated(view: RequestView): void;
  viewerCount(): number;
  /** Before the HTTP server closes: drop every connection (apps and viewers), inviting reconnects. */
  disconnectAll(): void;
  /** After it closed: release socket.io (its own http close of a closed server is ignored). */
  close(): Promise<void>;
}

export function attachSockets(http: HttpServer, config: SpacesConfig, relay: () => Relay): SocketLayer {
  const io = new Server(http, {
    path: '/socket.io',
    serveClient: true,
    maxHttpBufferSize: config.maxMessageBytes,
    pingInterval: config.pingIntervalMs,
    pingTimeout: config.pingTimeoutMs,
  });
  const viewers = io.of('/viewers');

  io.of('/').on('connection', (socket: Socket) => {
    const link: AppLink = {
      id: socket.id,
      address: socket.handshake.address,
      send: (msg) => socket.emit('inference_request', msg, noop),
      cancel: (msg) => socket.emit('inference_cancel', msg),
      drop: () => socket.disconnect(true),
    };
    const registerTimer = setTimeout(() => {
      if (!relay().isRegistered(socket.id)) socket.disconnect(true);
    }, config.registerTimeoutMs);
    registerTimer.unref();

    socket.on('register', (payload: unknown, ack: unknown) => {
      try {
        const p = parseOrThrow(RegisterSchema, payload, 'register');
        const app = relay().register(link, p.space_id, p.token, p.concurrency);
        clearTimeout(registerTimer);
        ackOf(ack)({ ok: true, connection_id: socket.id, concurrency: app.concurrency });
      } catch (e) {
        ackOf(ack)(fail(e));
      }
    });
    socket.on('inference_result', (payload: unknown, ack: unknown) => {
      const reply = ackOf(ack);
      let p: ReturnType<typeof ResultSchema.parse>;
      try {
        p = parseOrThrow(ResultSchema, payload, 'inference_result');
      } catch (e) {
        reply(fail(e));
        return;
      }
      relay()
        .result(socket.id, p)
        .then(
          (r) => reply({ ok: true, ...(r.duplicate ? { duplicate: true } : {}) }),
          (e: unknown) => reply(fail(e)),
        );
    });
    socket.on('disconnect', () => {
      clearTimeout(registerTimer);
      relay().disconnect(socket.id);
    });
  });

  viewers.on('connection', (socket: Socket) => {
    socket.on('watch', async (payload: unknown, ack: unknown) => {
      try {
        const p = parseOrThrow(WatchSchema, payload, 'watch');
        relay().requireFeature('web_ui');
        const space = relay().space(p.space_id);
        if (!space) throw new SpacesError('SPACES_SPACE_NOT_FOUND', `no space "${p.space_id}"`);
        await socket.join(`space:${p.space_id}`);
        ackOf(ack)({ ok: true, space });
      } catch (e) {
        ackOf(ack)(fail(e));
      }
    });
    socket.on('follow', async (payload: unknown, ack: unknown) => {
      try {
        const p = parseOrThrow(FollowSchema, payload, 'follow');
        relay().requireFeature('web_ui');
        const request = relay().status(p.request_id);
        await socket.join(`req:${p.request_id}`);
        // Read again after joining, so that no update between the two is missed.
        ackOf(ack)({ ok: true, request: relay().status(p.request_id) ?? request });
      } catch (e) {
        ackOf(ack)(fail(e));
      }
    });
  });

  const dirty = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const pushStates = () => {
    timer = undefined;
    for (const id of dirty) {
      const state = relay().space(id) ?? { space_id: id, deleted: true };
      viewers.to(`space:${id}`).emit('space_state', state);
    }
    dirty.clear();
  };
  const rooms = () => viewers.adapter.rooms;

  return {
    io,
    spaceChanged(spaceId) {
      if (!rooms().has(`space:${spaceId}`)) return;
      dirty.add(spaceId);
      timer ??= setTimeout(pushStates, SPACE_STATE_EVERY_MS);
    },
    requestUpdated(view) {
      const room = `req:${view.request_id}`;
      if (rooms().has(room)) viewers.to(room).emit('request_update', view);
    },
    viewerCount: () => viewers.sockets.size,
    disconnectAll() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      // Close the transports rather than disconnect the sockets: clients see "transport close"
      // and reconnect (to the next start), where a socket.io disconnect would tell them to stay away.
      io.engine.close();
    },
    async close() {
      await new Promise<void>((resolve) => {
        io.close(() => resolve());
      });
    },
  };
}
