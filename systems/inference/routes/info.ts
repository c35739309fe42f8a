// GET /health, /v1/models, /v1/models/:id, /v1/system/status, /metrics.
import type { FastifyInstance } from 'fastify';
import { InferenceError } from '../errors.ts';
import type { GatewayState } from '../gateway.ts';
import type { PlatformInfo } from '../platform.ts';

/** The one /health answer while ready: built once, serialised per request like any reply. */
const HEALTH_OK = Object.freeze({ status: 'ok' });

// The handlers are synchronous: an async one costs every request a promise and a turn of the
// microtask queue before fastify can reply (fastify sends a returned value at once).
export function registerInfoRoutes(
  app: FastifyInstance,
  gw: GatewayState,
  platform: () => PlatformInfo | undefined,
): void {
  app.get('/health', (_req, reply) => {
    if (gw.phase === 'ready') return HEALTH_OK;
    const err = new InferenceError(
      'INFERENCE_MODEL_LOADING',
      gw.phase === 'failed' ? `the engine failed to load: ${gw.loadError}` : 'Loading model',
    );
    reply.code(503).header('retry-after', '1');
    return err.toWire();
  });

  app.get('/v1/models', () => ({
    object: 'list',
    data: gw.phase === 'ready' ? gw.engine.models() : [],
  }));

  app.get<{ Params: { id: string } }>('/v1/models/:id', (req) => {
    const card = gw.engine.models().find((m) => m.id === req.params.id);
    if (!card) {
      throw new InferenceError('INFERENCE_MODEL_NOT_FOUND', `The model \`${req.params.id}\` does not exist`, {
        param: 'model',
      });
    }
    return card;
  });

  app.get('/v1/system/status', () => {
    const mem = process.memoryUsage();
    return {
      status: gw.phase,
      loadError: gw.loadError ?? null,
      uptimeS: (Date.now() - gw.startedAt) / 1000,
      platform: platform() ?? null,
      engine: {
        name: gw.engine.name,
        label: gw.engine.label,
        reason: gw.engineReason,
        ...gw.engine.status(),
      },
      models: gw.phase === 'ready' ? gw.engine.models().map((m) => m.id) : [],
      admission: gw.admission.stats(),
      memory: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, externalBytes: mem.external },
    };
  });

  app.get('/metrics', (_req, reply) => {
    const a = gw.admission.stats();
    reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    return gw.metrics.render({
      inference_slots_busy: { help: 'Requests generating now.', value: a.busy },
      inference_slots_total: { help: 'Configured slots.', value: a.slots },
      inference_queue_depth: { help: 'Requests waiting for a slot.', value: a.queued },
      inference_model_ready: { help: '1 when the model is loaded.', value: gw.phase === 'ready' ? 1 : 0 },
      process_resident_memory_bytes: {
        help: 'Resident set size of the gateway process.',
        value: process.memoryUsage().rss,
      },
    });
  });
}
