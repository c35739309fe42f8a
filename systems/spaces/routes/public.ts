// Public routes: submit, status, space info, health, metrics, and the web pages with their assets.
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { SpacesError } from '../errors.ts';
import type { Relay } from '../relay.ts';
import { parseOrThrow, SpaceParamsSchema, StatusQuerySchema, SubmitBodySchema } from '../schemas.ts';
import type { SpacesStore } from '../store.ts';
import { adminPage, spacePage } from '../ui/pages.ts';

const asset = (name: string) => readFileSync(new URL(`../ui/${name}`, import.meta.url), 'utf8');

export interface PublicDeps {
  relay: Relay;
  store: SpacesStore;
  metrics: () => string;
}

export function registerPublicRoutes(app: FastifyInstance, { relay, store, metrics }: PublicDeps): void {
  const assets = {
    'space.js': { type: 'text/javascript; charset=utf-8', body: asset('space.js') },
    'admin.js': { type: 'text/javascript; charset=utf-8', body: asset('admin.js') },
    'style.css': { type: 'text/css; charset=utf-8', body: asset('style.css') },
  } as const;

  app.get('/health', async () => ({ status: 'ok', spaces: relay.listSpaces().length }));

  app.get('/metrics', async (_req, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics()),
  );

  app.post('/websockets/submit', async (req) => {
    const body = parseOrThrow(SubmitBodySchema, req.body, 'body');
    return relay.submit(body.space_id, body.input);
  });

  app.get('/websockets/status', async (req) => {
    const q = parseOrThrow(StatusQuerySchema, req.query, 'query');
    return relay.status(q.request_id);
  });

  app.get('/spaces/:id', async (req) => {
    const { id } = parseOrThrow(SpaceParamsSchema, req.params, 'params');
    const space = relay.space(id);
    if (!space) throw new SpacesError('SPACES_SPACE_NOT_FOUND', `no space "${id}"`);
    return space;
  });

  const page = async (req: { params: unknown; query: unknown }, reply: import('fastify').FastifyReply) => {
    relay.requireFeature('web_ui');
    const { id } = parseOrThrow(SpaceParamsSchema, req.params, 'params');
    const space = relay.space(id);
    if (!space) throw new SpacesError('SPACES_SPACE_NOT_FOUND', `no space "${id}"`);
    const wanted = (req.query as Record<string, unknown>).request;
    let shown: Parameters<typeof spacePage>[1];
    if (typeof wanted === 'string' && wanted !== '') {
      const view = relay.status(wanted);
      const row = store.request(wanted);
      if (view.space_id === id && row) shown = { view, input: JSON.parse(row.input) };
    }
    return reply.type('text/html; charset=utf-8').send(spacePage(space, shown));
  };
  app.get('/s/:id', page);
  app.get('/spaces/:id/page', page);

  app.get('/admin', async (_req, reply) => {
    relay.requireFeature('web_ui');
    return reply.type('text/html; charset=utf-8').send(adminPage());
  });

  app.get('/ui/:file', async (req, reply) => {
    const file = (req.params as { file: string }).file;
    const a = Object.hasOwn(assets, file) ? assets[file as keyof typeof assets] : undefined;
    if (!a) throw new SpacesError('SPACES_ROUTE_NOT_FOUND', `no asset ${file}`);
    return reply.type(a.type).header('cache-control', 'no-cache').send(a.body);
  });
}
