// Builds the storage service: config -> backend (opened, state recovered) -> fastify app with
// coded errors -> listen. close() ends watchers, waits for requests in flight (a bounded time),
// closes the backend and removes a temp root it created.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { createBackend } from './backends/index.ts';
import type { StorageBackend } from './backends/types.ts';
import { loadConfig, type StorageConfig, type StorageConfigInput } from './config.ts';
import { drainLimit, type StorageContext } from './context.ts';
import { StorageError } from './errors.ts';
import { ManifestService } from './manifest-service.ts';
import { registerDownloadRoutes, STREAM_PREFIX } from './routes/download.ts';
import { registerFilesRoutes } from './routes/files.ts';
import { drain } from './routes/raw-body.ts';
import { registerUploadRoutes } from './routes/upload.ts';
import { registerWatchRoutes } from './routes/watch.ts';
import { UrlSigner } from './signer.ts';
import { WatchHub } from './watch-hub.ts';

export interface CreateStorageServerOptions {
  /** Environment for STORAGE_* overrides; default process.env. Pass {} to ignore the environment. */
  env?: NodeJS.ProcessEnv;
  /** Log requests (fastify logger); default false. */
  logger?: boolean;
  /** How long close() waits for requests in flight before cutting their connections, ms. Default 5000. */
  closeGraceMs?: number;
}

export interface StorageServer {
  readonly app: FastifyInstance;
  readonly config: StorageConfig;
  readonly backend: StorageBackend;
  readonly hub: WatchHub;
  /** The data (fs) or spool (s3) directory in use. */
  readonly root: string;
  /** Listens on config.host:config.port (port 0: any free port); resolves to the base URL. */
  listen(): Promise<string>;
  /** Safe to call twice. */
  close(): Promise<void>;
}

function toStorageError(err: FastifyError | Error, req: FastifyRequest): StorageError {
  if (err instanceof StorageError) return err;
  const code = (err as FastifyError).code;
  const status = (err as FastifyError).statusCode;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return req.url.startsWith('/upload/manifest')
      ? new StorageError('STORAGE_MANIFEST_TOO_LARGE', `${err.message} (maxManifestBytes)`)
      : new StorageError('STORAGE_INVALID_INPUT', err.message, { status: 413 });
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new StorageError(
      'STORAGE_UNSUPPORTED_MEDIA_TYPE',
      `${err.message}; send Content-Type: application/json`,
    );
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return new StorageError('STORAGE_INVALID_INPUT', `invalid request: ${err.message}`, { status });
  }
  return new StorageError('STORAGE_BACKEND_FAILED', err.message, { cause: err });
}

export async function createStorageServer(
  input: StorageConfigInput = {},
  opts: CreateStorageServerOptions = {},
): Promise<StorageServer> {
  const config = loadConfig(input, opts.env ?? process.env);
  const ownsRoot = config.root === undefined;
  const root = config.root ?? (await mkdtemp(path.join(os.tmpdir(), 'rig-storage-')));
  const backend = createBackend(config, root);
  try {
    await backend.open();
  } catch (e) {
    await backend.close().catch(() => undefined);
    if (ownsRoot) await rm(root, { recursive: true, force: true });
    throw e;
  }
  const hub = new WatchHub(config.maxWatchers);
  const ctx: StorageContext = {
    config,
    backend,
    hub,
    manifests: new ManifestService(backend, hub, config.maxManifestBytes),
    signer: new UrlSigner(config.signingSecret),
  };

  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: Math.max(4 * 1024 * 1024, config.maxManifestBytes),
    forceCloseConnections: 'idle',
    frameworkErrors: (err, req, reply) => {
      const code = req.url.startsWith(STREAM_PREFIX) ? 'STORAGE_BAD_KEY' : 'STORAGE_INVALID_INPUT';
      (reply as unknown as FastifyReply).code(400).send(new StorageError(code, err.message).toWire());
    },
  });
  app.setErrorHandler(async (err, req, reply) => {
    const e = toStorageError(err as Error, req);
    if (e.retryAfterS !== undefined) reply.header('retry-after', String(e.retryAfterS));
    if (e.status >= 500) req.log.error({ err }, e.message);
    // Answering while the client still sends its body would reset the connection under it
    // (EPIPE, no response): read the rest first, within limits, or else close after answering.
    if (!(await drain(req.raw, drainLimit(config)))) reply.header('connection', 'close');
    return reply.code(e.status).send(e.toWire());
  });
  app.setNotFoundHandler((req, reply) => {
    const pathname = req.url.split('?')[0] ?? req.url;
    const e = new StorageError('STORAGE_ROUTE_NOT_FOUND', `no route ${req.method} ${pathname}`);
    reply.code(e.status).send(e.toWire());
  });
  app.get('/health', async () => ({ status: 'ok', backend: backend.name, watchers: hub.watchers }));
  registerUploadRoutes(app, ctx);
  registerFilesRoutes(app, ctx);
  registerDownloadRoutes(app, ctx);
  registerWatchRoutes(app, ctx);
  app.addHook('preClose', async () => hub.close());

  const sweeper = setInterval(
    () =>
      void backend
        .sweepExpiredUploads(Date.now())
        .catch((e: Error) => app.log.error({ err: e }, 'upload sweep')),
    Math.min(config.uploadTtlMs, 60_000),
  );
  sweeper.unref();

  let closing: Promise<void> | undefined;
  return {
    app,
    config,
    backend,
    hub,
    root,
    async listen() {
      const url = await app.listen({ host: config.host, port: config.port });
      return url.replace('[::1]', 'localhost');
    },
    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        const grace = setTimeout(() => app.server.closeAllConnections(), opts.closeGraceMs ?? 5_000);
        try {
          await app.close();
        } finally {
          clearTimeout(grace);
          await backend.close();
          if (ownsRoot) await rm(root, { recursive: true, force: true });
        }
      })();
      return closing;
    },
  };
}
