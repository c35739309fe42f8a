// One generation request from admission to the last byte: non-streaming JSON or SSE streaming,
// with client-disconnect abort, request timeout, and TTFT / ITL / e2e / queue metrics.
import { performance } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FinishReason, GenerateParams, GenerateResult } from './engines/types.ts';
import { InferenceError } from './errors.ts';
import type { GatewayState } from './gateway.ts';
import {
  ContentEvents,
  chatChunk,
  chatCompletion,
  chatUsageChunk,
  type Envelope,
  newId,
  textCompletion,
  textUsageChunk,
  usageOf,
} from './wire.ts';

export interface GenerationRequest {
  kind: 'chat' | 'completion';
  route: string;
  model: string;
  stream: boolean;
  includeUsage: boolean;
  params: Omit<GenerateParams, 'signal' | 'onText' | 'model'>;
}

export function assertServable(gw: GatewayState, model: string): void {
  if (gw.phase !== 'ready') {
    throw new InferenceError(
      'INFERENCE_MODEL_LOADING',
      gw.phase === 'failed' ? `the engine failed to load: ${gw.loadError}` : 'Loading model',
      { retryAfterS: 1 },
    );
  }
  const models = gw.engine.models();
  if (!models.some((m) => m.id === model)) {
    throw new InferenceError(
      'INFERENCE_MODEL_NOT_FOUND',
      `The model \`${model}\` does not exist; served: ${models.map((m) => m.id).join(', ')}`,
      {
        param: 'model',
      },
    );
  }
}

const seconds = (fromMs: number) => (performance.now() - fromMs) / 1000;

// The per-request callbacks below are methods, bound functions or unnamed arrows, never named
// closures (`const f = () => ...`): the gateway runs under tsx, whose transform wraps each named
// closure in Object.defineProperty when it is created, ~0.4 µs apiece on every request.

/** TTFT and ITL of one generation, observed as its pieces of text arrive. */
class PieceClock {
  private firstAt = 0;
  private lastAt = 0;
  constructor(
    private readonly gw: GatewayState,
    private readonly t0: number,
  ) {}
  piece(): void {
    const now = performance.now();
    if (this.firstAt === 0) {
      this.firstAt = now;
      this.gw.metrics.ttft.observe((now - this.t0) / 1000);
    } else this.gw.metrics.itl.observe((now - this.lastAt) / 1000);
    this.lastAt = now;
  }
}

/** A response's 'close' listener: a client gone before its answer was finished aborts the generation. */
function abortUnlessFinished(this: { res: FastifyReply['raw']; abort: AbortController }): void {
  if (!this.res.writableFinished) this.abort.abort(new Error('client disconnected'));
}

export async function handleGeneration(
  gw: GatewayState,
  _req: FastifyRequest,
  reply: FastifyReply,
  g: GenerationRequest,
) {
  assertServable(gw, g.model);
  const t0 = performance.now();
  const abort = new AbortController();
  const onClose = abortUnlessFinished.bind({ res: reply.raw, abort });
  reply.raw.on('close', onClose);
  let release: (() => void) | undefined;
  try {
    try {
      release = gw.admission.tryAcquire() ?? (await gw.admission.acquire(abort.signal));
    } catch (e) {
      if (e instanceof InferenceError) gw.metrics.rejected.inc([e.code.toLowerCase()]);
      throw e;
    }
    gw.metrics.queueTime.observe(seconds(t0));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort(new Error('request timeout'));
    }, gw.config.requestTimeoutMs);
    const envelope: Envelope = {
      id: newId(g.kind === 'chat' ? 'chatcmpl' : 'cmpl'),
      created: Math.floor(Date.now() / 1000),
      model: g.model,
    };
    const clock = new PieceClock(gw, t0);
    try {
      if (!g.stream) {
        const result = await gw.engine.generate({
          ...g.params,
          model: g.model,
          signal: abort.signal,
          onText(text) {
            if (text) clock.piece();
          },
        });
        if (timedOut) {
          throw new InferenceError(
            'INFERENCE_REQUEST_TIMEOUT',
            `generation ran past requestTimeoutMs (${gw.config.requestTimeoutMs} ms)`,
          );
        }
        account(gw, result, t0);
        const usage = usageOf(result.promptTokens, result.completionTokens);
        return g.kind === 'chat'
          ? chatCompletion(envelope, result.text, result.finishReason, usage)
          : textCompletion(envelope, result.text, result.finishReason, usage);
      }
      await streamGeneration(gw, reply, g, envelope, abort, clock, () => timedOut, t0);
      return reply;
    } finally {
      clearTimeout(timer);
    }
  } finally {
    release?.();
    reply.raw.off('close', onClose);
  }
}

function account(gw: GatewayState, result: GenerateResult, t0: number): void {
  gw.metrics.e2e.observe(seconds(t0));
  gw.metrics.promptTokens.inc([], result.promptTokens);
  gw.metrics.generatedTokens.inc([], result.completionTokens);
}

async function streamGeneration(
  gw: GatewayState,
  reply: FastifyReply,
  g: GenerationRequest,
  envelope: Envelope,
  abort: AbortController,
  clock: PieceClock,
  timedOut: () => boolean,
  t0: number,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const usageField = g.includeUsage;
  if (g.kind === 'chat') send(res, chatChunk(envelope, { role: 'assistant', content: '' }, null, usageField));
  const events = new ContentEvents(g.kind, envelope, usageField);
  let status = 200;
  try {
    const result = await gw.engine.generate({
      ...g.params,
      model: g.model,
      signal: abort.signal,
      onText(text) {
        if (!text) return;
        clock.piece();
        if (!res.destroyed) res.write(events.event(text));
      },
    });
    if (timedOut()) {
      status = 408;
      send(
        res,
        new InferenceError(
          'INFERENCE_REQUEST_TIMEOUT',
          `generation ran past requestTimeoutMs (${gw.config.requestTimeoutMs} ms)`,
        ).toWire(),
      );
    } else {
      const finish: FinishReason = result.finishReason;
      send(
        res,
        g.kind === 'chat'
          ? chatChunk(envelope, {}, finish, usageField)
          : textCompletion(envelope, '', finish, usageField ? null : undefined),
      );
      const usage = usageOf(result.promptTokens, result.completionTokens);
      if (g.includeUsage)
        send(res, g.kind === 'chat' ? chatUsageChunk(envelope, usage) : textUsageChunk(envelope, usage));
    }
    account(gw, result, t0);
  } catch (e) {
    const err =
      e instanceof InferenceError
        ? e
        : new InferenceError('INFERENCE_ENGINE_FAILED', `generation failed: ${(e as Error).message}`);
    status = err.status;
    send(res, err.toWire());
  } finally {
    if (!res.destroyed) res.end('data: [DONE]\n\n');
    gw.metrics.requests.inc([g.route, String(abort.signal.aborted && !timedOut() ? 499 : status)]);
  }
}

/** One SSE event, unless the client has gone. */
function send(res: FastifyReply['raw'], obj: unknown): void {
  if (!res.destroyed) res.write(`data: ${JSON.stringify(obj)}\n\n`);
}
