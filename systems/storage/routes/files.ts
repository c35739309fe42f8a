// Versions of a block: the latest one (published, or else the newest), the list, and publishing.
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { StorageContext } from '../context.ts';
import { ifNoneMatchPasses } from '../http.ts';
import { IdSchema } from '../keys.ts';
import { parseInput, QueryBool } from '../validate.ts';

const LatestQuery = z
  .object({ user_id: IdSchema, block_id: IdSchema, include_manifest: QueryBool.default(false) })
  .strict();
const BlockQuery = z.object({ user_id: IdSchema, block_id: IdSchema }).strict();
const PublishBody = z.object({ user_id: IdSchema, block_id: IdSchema, version_id: IdSchema }).strict();

/**
 * The validator of a latest_version answer: it changes when the version changes or its manifest
 * does (two versions may hold identical manifests, so the manifest ETag alone would not do).
 */
export function latestEtag(versionId: string, manifestEtag: string): string {
  return `"${createHash('sha256').update(`${versionId}\n${manifestEtag}`).digest('hex').slice(0, 32)}"`;
}

export function registerFilesRoutes(app: FastifyInstance, ctx: StorageContext): void {
  const { manifests } = ctx;

  app.get('/files/latest_version', async (req, reply) => {
    const q = parseInput(LatestQuery, req.query, 'query');
    const { versionId, stored } = await manifests.latest(q.user_id, q.block_id);
    const etag = latestEtag(versionId, stored.etag);
    reply.header('etag', etag).header('cache-control', 'no-cache');
    const inm = req.headers['if-none-match'];
    if (inm !== undefined && !ifNoneMatchPasses(inm, etag)) return reply.code(304).send();
    return {
      version_id: versionId,
      etag: stored.etag,
      status: stored.manifest.status,
      ...(q.include_manifest ? { manifest: stored.manifest } : {}),
    };
  });

  app.get('/files/versions', async (req) => {
    const q = parseInput(BlockQuery, req.query, 'query');
    const { latest, versions } = await manifests.versions(q.user_id, q.block_id);
    return {
      latest_version_id: latest ?? null,
      versions: versions.map((v) => ({
        version_id: v.versionId,
        etag: v.etag,
        status: v.status,
        chunk_count: v.chunkCount,
        created_at: new Date(v.createdAt).toISOString(),
        updated_at: new Date(v.updatedAt).toISOString(),
        latest: v.latest,
      })),
    };
  });

  app.post('/files/publish_version', async (req) => {
    const b = parseInput(PublishBody, req.body, 'body');
    const { publishedAt } = await manifests.publish({
      userId: b.user_id,
      blockId: b.block_id,
      versionId: b.version_id,
    });
    return { version_id: b.version_id, published_at: new Date(publishedAt).toISOString() };
  });
}
