// Admin routes under /admin/*, each behind `Authorization: Bearer <admin token>` (compared in
// constant time against its SHA-256).
import type { FastifyInstance } from 'fastify';
import { SpacesError } from '../errors.ts';
import type { Relay } from '../relay.ts';
import { rowView } from '../relay.ts';
import {
  CreateSpaceBodySchema,
  FeaturesPatchSchema,
  HistoryQuerySchema,
  PatchSpaceBodySchema,
  parseOrThrow,
  SpaceParamsSchema,
} from '../schemas.ts';
import type { SpacesStore } from '../store.ts';
import { tokenMatches } from '../tokens.ts';

export function registerAdminRoutes(
  app: FastifyInstance,
  deps: { relay: Relay; store: SpacesStore; adminTokenHash: string },
): void {
  const { relay, store, adminTokenHash } = deps;
  app.register(
    async (scope) => {
      scope.addHook('onRequest', async (req) => {
        const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
        if (!m || !tokenMatches(m[1] as string, adminTokenHash)) {
          throw new SpacesError(
            'SPACES_UNAUTHORIZED',
            'send Authorization: Bearer <admin token> (SPACES_ADMIN_TOKEN)',
          );
        }
      });

      scope.get('/spaces', async () => ({ spaces: relay.listSpaces() }));

      scope.post('/spaces', async (req, reply) => {
        const body = parseOrThrow(CreateSpaceBodySchema, req.body, 'body');
        const created = await relay.createSpace(body.space_id, body.name);
        return reply.code(201).send(created);
      });

      scope.patch('/spaces/:id', async (req) => {
        const { id } = parseOrThrow(SpaceParamsSchema, req.params, 'params');
        return relay.updateSpace(id, parseOrThrow(PatchSpaceBodySchema, req.body ?? {}, 'body'));
      });

      scope.delete('/spaces/:id', async (req, reply) => {
        const { id } = parseOrThrow(SpaceParamsSchema, req.params, 'params');
        await relay.deleteSpace(id);
        return reply.code(204).send();
      });

      scope.get('/features', async () => ({ features: relay.getFeatures() }));

      scope.patch('/features', async (req) => {
        const patch = parseOrThrow(FeaturesPatchSchema, req.body ?? {}, 'body');
        return { features: await relay.setFeatures(patch) };
      });

      scope.get('/connections', async () => ({ connections: relay.connections() }));

      scope.get('/requests', async (req) => {
        const q = parseOrThrow(HistoryQuerySchema, req.query, 'query');
        store.flush();
        const rows = store.history({
          ...(q.space_id !== undefined ? { spaceId: q.space_id } : {}),
          ...(q.status !== undefined ? { status: q.status } : {}),
          ...(q.cursor !== undefined ? { before: q.cursor } : {}),
          limit: q.limit,
        });
        const last = rows.at(-1);
        return {
          requests: rows.map((r) => {
            const { result: _r, error: _e, ...summary } = rowView(r);
            return summary;
          }),
          next_cursor: rows.length === q.limit && last ? last.seq : null,
        };
      });
    },
    { prefix: '/admin' },
  );
}
