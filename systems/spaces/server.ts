// Builds the relay: config -> SQLite store (open requests resumed) -> relay -> fastify app with coded
// errors and socket.io on the same port -> listen. close() drops sockets, closes HTTP, commits the
// last writes and closes the database (removing a temp one it created). Safe to call twice.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { loadConfig, type SpacesConfig, type SpacesConfigInput } from './config.ts';
import { SpacesError } from './errors.ts';
import { Relay } from './relay.ts';
import { registerAdminRoutes } from './routes/admin.ts';
import { registerPublicRoutes } from './routes/public.ts';
import { attachSockets, type SocketLayer } from './sockets.ts';
import { SpacesStore } from './store.ts';
import { hashToken, newToken } from './tokens.ts';

export interface CreateSpacesServerOptions {
  /** Environment for SPACES_* overrides; default process.env. Pass {} to ignore the environment. */
  env?: NodeJS.ProcessEnv;
  /** Log requests (fastify logger); default false. */
  logger?: boolean;
  /** How long close() waits for HTTP requests in flight before cutting them, ms. Default 5000. */
  closeGraceMs?: number;
}

export interface SpacesServer {
  readonly app: FastifyInstance;
  readonly config: SpacesConfig;
  readonly relay: Relay;
  readonly store: SpacesStore;
  readonly sockets: SocketLayer;
  /** The admin token in force: config.adminToken, or the one generated for this start. */
  readonly adminToken: string;
  /** True when adminToken was generated (no SPACES_ADMIN_TOKEN): print it once. */
  readonly adminTokenGenerated: boolean;
  /** The SQLite file in use. */
  readonly dbPath: string;
  /** Open requests found in the database at start (dispatched ones re-queued). */
  readonly resumed: number;
  /** Listens on config.host:config.port (port 0: any free port); resolves to the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

function toSpacesError(err: FastifyError | Error): SpacesError {
  if (err instanceof SpacesError) return err;
  const { code, statusCode } = err as FastifyError;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new SpacesError('SPACES_PAYLOAD_TOO_LARGE', `${err.message} (maxBodyBytes)`);
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new SpacesError(
      'SPACES_UNSUPPORTED_MEDIA_TYPE',
      `${err.message}; send Content-Type: application/json`,
    );
  }
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    return new SpacesError('SPACES_INVALID_INPUT', `invalid request: ${err.message}`, { status: statusCode });
  }
  return new SpacesError('SPACES_INTERNAL_ERROR', err.message, { cause: err });
}

export async function createSpacesServer(
  input: SpacesConfigInput = {},
  opts: CreateSpacesServerOptions = {},
): Promise<SpacesServer> {
  const config = loadConfig(input, opts.env ?? process.env);
  const tempDir =
    config.dbPath === undefined ? mkdtempSync(path.join(os.tmpdir(), 'rig-spaces-')) : undefined;
  const dbPath = config.dbPath ?? path.join(tempDir as string, 'spaces.db');
  let store: SpacesStore;
  try {
    store = new SpacesStore(dbPath, config.synchronous);
  } catch (e) {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    throw new SpacesError('SPACES_STORE_FAILED', `cannot open ${dbPath}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const adminToken = config.adminToken ?? newToken('spa_');

  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: config.maxBodyBytes,
    forceCloseConnections: 'idle',
    frameworkErrors: (err, _req, reply) => {
      (reply as unknown as FastifyReply)
        .code(400)
        .send(new SpacesError('SPACES_INVALID_INPUT', err.message).toWire());
    },
  });
  let relay: Relay | undefined;
  const sockets = attachSockets(app.server, config, () => relay as Relay);
  relay = new Relay(config, store, {
    onSpaceChange: (id) => sockets.spaceChanged(id),
    onRequestUpdate: (view) => sockets.requestUpdated(view),
  });
  const { resumed } = relay.open();

  app.setErrorHandler(async (err, req, reply) => {
    const e = toSpacesError(err as Error);
    if (e.retryAfterS !== undefined) reply.header('retry-after', String(e.retryAfterS));
    if (e.status >= 500) req.log.error({ err }, e.message);
    return reply.code(e.status).send(e.toWire());
  });
  app.setNotFoundHandler((req, reply) => {
    const pathname = req.url.split('?')[0] ?? req.url;
    const e = new SpacesError('SPACES_ROUTE_NOT_FOUND', `no route ${req.method} ${pathname}`);
    reply.code(e.status).send(e.toWire());
  });
  const live = relay;
  registerPublicRoutes(app, {
    relay: live,
    store,
    metrics: () => live.metrics.render({ ...live.gauges(), viewers: sockets.viewerCount() }),
  });
  registerAdminRoutes(app, { relay: live, store, adminTokenHash: hashToken(adminToken) });
  app.addHook('preClose', async () => {
    live.close();
    sockets.disconnectAll();
  });
  app.addHook('onClose', async () => sockets.close());

  let closing: Promise<void> | undefined;
  return {
    app,
    config,
    relay: live,
    store,
    sockets,
    adminToken,
    adminTokenGenerated: config.adminToken === undefined,
    dbPath,
    resumed,
    async listen() {
      const url = await app.listen({ host: config.host, port: config.port });
      return url.replace('[::1]', 'localhost');
    },
    close() {
      closing ??= (async () => {
        const grace = setTimeout(() => app.server.closeAllConnections(), opts.closeGraceMs ?? 5_000);
        try {
          await app.close();
        } finally {
          clearTimeout(grace);
          live.close();
          store.close();
          if (tempDir) rmSync(tempDir, { recursive: true, force: true });
        }
      })();
      return closing;
    },
  };
}
