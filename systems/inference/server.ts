// Builds the fastify app around an engine and starts it: listen first (so /health says 503 while
// the model loads), then load the engine in the background.
import type { IncomingMessage } from 'node:http';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type RouteHandlerMethod,
} from 'fastify';
import { Admission } from './admission.ts';
import { answerClientError, answerExpectation, answerFrameworkError, requireHost } from './client-errors.ts';
import { type InferenceConfig, type InferenceConfigInput, loadConfig } from './config.ts';
import { createEngine } from './engines/index.ts';
import type { Engine } from './engines/types.ts';
import { InferenceError } from './errors.ts';
import type { GatewayState } from './gateway.ts';
import { GatewayMetrics } from './metrics.ts';
import { getPlatformInfo, type PlatformInfo } from './platform.ts';
import { registerInfoRoutes } from './routes/info.ts';
import { registerOpenAIRoutes } from './routes/openai.ts';

export interface CreateGatewayOptions {
  /** Environment for overrides; default process.env. Pass {} to ignore the environment. */
  env?: NodeJS.ProcessEnv;
  /** Use this engine instead of the one the config names. */
  engine?: Engine;
  /** Log requests (fastify logger); default false. */
  logger?: boolean;
}

export interface Gateway {
  readonly app: FastifyInstance;
  readonly config: InferenceConfig;
  readonly state: GatewayState;
  /** Resolves when the engine has loaded; rejects with its load error. */
  readonly ready: Promise<void>;
  /** Listens on config.host:config.port (port 0 = any free port); resolves to the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

const ROUTES: Record<string, string[]> = {
  '/health': ['GET', 'HEAD'],
  '/v1/models': ['GET', 'HEAD'],
  '/v1/chat/completions': ['POST'],
  '/v1/completions': ['POST'],
  '/v1/system/status': ['GET', 'HEAD'],
  '/metrics': ['GET', 'HEAD'],
};

const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 10_000;

/** Reads and discards the rest of a request body; false when it was too long or too slow. */
function drain(raw: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<boolean> {
  if (raw.complete || raw.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('error', onError);
      resolve(ok);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onError = () => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    raw.on('data', onData);
    raw.on('end', onEnd);
    raw.on('error', onError);
    raw.resume();
  });
}

function toInferenceError(err: FastifyError | Error): InferenceError {
  if (err instanceof InferenceError) return err;
  const code = (err as FastifyError).code;
  const status = (err as FastifyError).statusCode;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new InferenceError('INFERENCE_BODY_TOO_LARGE', err.message);
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new InferenceError(
      'INFERENCE_UNSUPPORTED_MEDIA_TYPE',
      `${err.message}; send Content-Type: application/json`,
    );
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return new InferenceError('INFERENCE_BAD_REQUEST', `invalid request body: ${err.message}`, { status });
  }
  return new InferenceError('INFERENCE_ENGINE_FAILED', err.message, { cause: err });
}

export async function createGateway(
  input: InferenceConfigInput = {},
  opts: CreateGatewayOptions = {},
): Promise<Gateway> {
  const config = loadConfig(input, opts.env ?? process.env);
  const resolved = opts.engine
    ? { engine: opts.engine, reason: 'given by the caller' }
    : await createEngine(config);
  const metrics = new GatewayMetrics();
  const state: GatewayState = {
    config,
    engine: resolved.engine,
    engineReason: resolved.reason,
    admission: new Admission(config.slots, config.queueLimit, config.queueTimeoutMs),
    metrics,
    startedAt: Date.now(),
    phase: 'loading',
    loadError: undefined,
  };
  let platform: PlatformInfo | undefined;
  void getPlatformInfo().then((p) => {
    platform = p;
  });

  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: config.bodyLimit,
    forceCloseConnections: true,
    // Errors before routing answer in the OpenAI shape too (client-errors.ts).
    http: { requireHostHeader: false },
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
  });
  app.server.on('checkExpectation', answerExpectation);
  app.addHook('onRequest', requireHost);
  // Only JSON is parsed: a text/plain body is refused with 415 like any other media type.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(async (err, req, reply) => {
    const e = toInferenceError(err as Error);
    if (e.retryAfterS !== undefined) reply.header('retry-after', String(e.retryAfterS));
    if (e.status >= 500) req.log.error({ err }, e.message);
    // fastify refuses an oversize body before reading it; answering then would reset the socket
    // under a client that is still uploading (EPIPE, no response). Drain first, within limits.
    if (e.code === 'INFERENCE_BODY_TOO_LARGE' && !(await drain(req.raw, DRAIN_MAX_BYTES, DRAIN_TIMEOUT_MS))) {
      reply.header('connection', 'close');
    }
    metrics.requests.inc([req.routeOptions.url ?? 'unmatched', String(e.status)]);
    return reply.code(e.status).send(e.toWire());
  });
  app.setNotFoundHandler((req, reply) => {
    const pathname = req.url.split('?')[0] ?? req.url;
    const allow = ROUTES[pathname];
    const e = allow
      ? new InferenceError(
          'INFERENCE_METHOD_NOT_ALLOWED',
          `${req.method} is not allowed on ${pathname}; use ${allow.join(', ')}`,
        )
      : new InferenceError('INFERENCE_ROUTE_NOT_FOUND', `Invalid URL (${req.method} ${pathname})`);
    if (allow) reply.header('allow', allow.join(', '));
    metrics.requests.inc(['unmatched', String(e.status)]);
    reply.code(e.status).send(e.toWire());
  });
  // Answers are counted per route where they are decided, not in an onResponse hook: a route with
  // one makes fastify add two listeners to every response and run its hooks when it finishes, a
  // cost that showed in /health's throughput against a bare fastify server. A handler returns its
  // payload, counted here with the status it set (499 when the client has gone, as for a stream);
  // an error is counted by the error handler; a streamed (hijacked) generation counts itself when
  // its stream ends.
  const counted = new WeakSet<RouteHandlerMethod>();
  app.addHook('onRoute', (route) => {
    if (counted.has(route.handler)) return; // the HEAD route fastify adds for a GET shares its handler
    const url = route.url;
    const handler = route.handler;
    const count = (reply: FastifyReply) => {
      if (reply.sent) return;
      metrics.requests.inc([url, reply.raw.destroyed ? '499' : String(reply.statusCode)]);
    };
    const counting: RouteHandlerMethod = function (this: FastifyInstance, req, reply) {
      const payload = handler.call(this, req, reply);
      if (payload instanceof Promise) {
        return payload.then((value: unknown) => {
          count(reply);
          return value;
        });
      }
      count(reply);
      return payload;
    };
    counted.add(counting);
    route.handler = counting;
  });
  registerInfoRoutes(app, state, () => platform);
  registerOpenAIRoutes(app, state);

  let loading: Promise<void> | undefined;
  const load = () => {
    loading ??= state.engine.load().then(
      () => {
        if (state.phase === 'loading') state.phase = 'ready';
      },
      (e: unknown) => {
        state.phase = 'failed';
        state.loadError = (e as Error).message;
        throw e;
      },
    );
    return loading;
  };
  let readyResolve!: () => void;
  let readyReject!: (e: unknown) => void;
  const ready = new Promise<void>((res, rej) => {
    readyResolve = res;
    readyReject = rej;
  });
  ready.catch(() => undefined);
  let closed = false;

  return {
    app,
    config,
    state,
    ready,
    async listen() {
      const url = await app.listen({ host: config.host, port: config.port });
      load().then(readyResolve, readyReject);
      return url.replace('[::1]', 'localhost');
    },
    async close() {
      if (closed) return;
      closed = true;
      state.phase = 'closing';
      await app.close();
      await loading?.catch(() => undefined);
      await state.engine.close();
    },
  };
}

/** For fastify.inject-style tests: loads the engine without listening. */
export async function createReadyGateway(
  input: InferenceConfigInput = {},
  opts: CreateGatewayOptions = {},
): Promise<Gateway> {
  const gw = await createGateway(input, opts);
  await gw.state.engine.load();
  gw.state.phase = 'ready';
  return gw;
}
