// Multipart uploads (init, parts in any order, complete, abort, list), single-part objects, and
// manifest reads and conditional writes.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ObjectInfo, UploadRecord } from '../backends/types.ts';
import type { StorageContext } from '../context.ts';
import { StorageError } from '../errors.ts';
import { ifNoneMatchPasses } from '../http.ts';
import { FileNameSchema, IdSchema, newUploadId, newVersionId, objectKey, UploadIdSchema } from '../keys.ts';
import { parseInput } from '../validate.ts';
import { acceptRawBodies, refuseDeclaredOversize, spoolRequest } from './raw-body.ts';

const ContentTypeSchema = z
  .string()
  .max(255)
  .regex(/^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/, 'must be a media type such as application/octet-stream');

const InitBody = z
  .object({
    user_id: IdSchema,
    block_id: IdSchema,
    version_id: IdSchema.optional(),
    file_name: FileNameSchema,
    content_type: ContentTypeSchema.default('application/octet-stream'),
  })
  .strict();

const PartParams = z
  .object({ upload_id: UploadIdSchema, part_number: z.string().regex(/^-?\d+$/, 'must be an integer') })
  .strict();

const CompleteBody = z
  .object({
    upload_id: UploadIdSchema,
    parts: z
      .array(z.object({ part_number: z.number().int(), etag: z.string().min(1).max(128) }).strict())
      .max(10_000),
  })
  .strict();

const AbortBody = z.object({ upload_id: UploadIdSchema }).strict();

const ListQuery = z.object({ user_id: IdSchema.optional(), block_id: IdSchema.optional() }).strict();

const ObjectQuery = z
  .object({
    user_id: IdSchema,
    block_id: IdSchema,
    version_id: IdSchema.optional(),
    file_name: FileNameSchema,
  })
  .strict();

export const ManifestQuery = z
  .object({ user_id: IdSchema, block_id: IdSchema, version_id: IdSchema })
  .strict();

export function objectWire(info: ObjectInfo) {
  return {
    key: info.key,
    etag: info.etag,
    size: info.size,
    sha256: info.sha256 ?? null,
    content_type: info.contentType,
    last_modified: new Date(info.lastModified).toISOString(),
  };
}

function uploadWire(r: UploadRecord) {
  return {
    upload_id: r.uploadId,
    key: r.key,
    user_id: r.userId,
    block_id: r.blockId,
    version_id: r.versionId,
    file_name: r.fileName,
    content_type: r.contentType,
    created_at: new Date(r.createdAt).toISOString(),
    expires_at: new Date(r.expiresAt).toISOString(),
  };
}

function partNumberOf(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) {
    throw new StorageError(
      'STORAGE_INVALID_PART_NUMBER',
      `Part number must be an integer between 1 and 10000, inclusive (got ${raw})`,
    );
  }
  return n;
}

export function registerUploadRoutes(app: FastifyInstance, ctx: StorageContext): void {
  const { backend, config, manifests } = ctx;

  app.post('/upload/init', async (req) => {
    const b = parseInput(InitBody, req.body, 'body');
    const versionId = b.version_id ?? newVersionId();
    const now = Date.now();
    const record: UploadRecord = {
      uploadId: newUploadId(),
      key: objectKey({ userId: b.user_id, blockId: b.block_id, versionId, fileName: b.file_name }),
      userId: b.user_id,
      blockId: b.block_id,
      versionId,
      fileName: b.file_name,
      contentType: b.content_type,
      createdAt: now,
      expiresAt: now + config.uploadTtlMs,
    };
    await backend.createUpload(record);
    return {
      upload_id: record.uploadId,
      key: record.key,
      version_id: versionId,
      expires_at: new Date(record.expiresAt).toISOString(),
    };
  });

  // Raw byte bodies live in their own scope, with a stream parser for every media type.
  app.register(async (raw) => {
    acceptRawBodies(raw);

    raw.put('/upload/chunk/:upload_id/:part_number', async (req, reply) => {
      const p = parseInput(PartParams, req.params, 'params');
      const partNumber = partNumberOf(p.part_number);
      refuseDeclaredOversize(req, ctx);
      if (!(await backend.getUpload(p.upload_id))) {
        throw new StorageError(
          'STORAGE_NO_SUCH_UPLOAD',
          `no upload ${p.upload_id} (completed, aborted or expired?)`,
        );
      }
      const body = await spoolRequest(req, ctx);
      const part = await backend.putPart(p.upload_id, partNumber, body);
      reply.header('etag', part.etag);
      return { etag: part.etag, part_number: part.partNumber, size: part.size };
    });

    raw.put('/upload/object', async (req, reply) => {
      const q = parseInput(ObjectQuery, req.query, 'query');
      refuseDeclaredOversize(req, ctx);
      const contentType = parseInput(
        ContentTypeSchema.default('application/octet-stream'),
        req.headers['content-type'],
        'headers.content-type',
      );
      const versionId = q.version_id ?? newVersionId();
      const key = objectKey({ userId: q.user_id, blockId: q.block_id, versionId, fileName: q.file_name });
      const body = await spoolRequest(req, ctx);
      const info = await backend.putObject(key, body, contentType);
      reply.header('etag', info.etag);
      return { ...objectWire(info), version_id: versionId };
    });
  });

  app.post('/upload/complete', async (req) => {
    const b = parseInput(CompleteBody, req.body, 'body');
    const rec = await backend.getUpload(b.upload_id);
    if (!rec)
      throw new StorageError(
        'STORAGE_NO_SUCH_UPLOAD',
        `no upload ${b.upload_id} (completed, aborted or expired?)`,
      );
    const info = await backend.completeUpload(
      b.upload_id,
      b.parts.map((p) => ({ partNumber: p.part_number, etag: p.etag })),
      config.minPartBytes,
    );
    return { ...objectWire(info), version_id: rec.versionId, parts: b.parts.length };
  });

  app.post('/upload/abort', async (req) => {
    const b = parseInput(AbortBody, req.body, 'body');
    await backend.abortUpload(b.upload_id);
    return { upload_id: b.upload_id, aborted: true };
  });

  app.get('/upload/list', async (req) => {
    const q = parseInput(ListQuery, req.query, 'query');
    const all = await backend.listUploads();
    const uploads = all.filter(
      (u) => (!q.user_id || u.userId === q.user_id) && (!q.block_id || u.blockId === q.block_id),
    );
    return { uploads: uploads.map(uploadWire) };
  });

  app.get('/upload/parts/:upload_id', async (req) => {
    const p = parseInput(z.object({ upload_id: UploadIdSchema }).strict(), req.params, 'params');
    const rec = await backend.getUpload(p.upload_id);
    if (!rec)
      throw new StorageError(
        'STORAGE_NO_SUCH_UPLOAD',
        `no upload ${p.upload_id} (completed, aborted or expired?)`,
      );
    const parts = await backend.listParts(p.upload_id);
    return {
      ...uploadWire(rec),
      parts: parts.map((x) => ({ part_number: x.partNumber, etag: x.etag, size: x.size })),
    };
  });

  app.get('/upload/manifest', async (req, reply) => {
    const q = parseInput(ManifestQuery, req.query, 'query');
    const m = await manifests.require({ userId: q.user_id, blockId: q.block_id, versionId: q.version_id });
    reply.header('etag', m.etag).header('cache-control', 'no-cache');
    const inm = req.headers['if-none-match'];
    if (inm !== undefined && !ifNoneMatchPasses(inm, m.etag)) return reply.code(304).send();
    return reply.type('application/json').send(m.bytes);
  });

  app.put('/upload/manifest', { bodyLimit: config.maxManifestBytes }, async (req, reply) => {
    const q = parseInput(ManifestQuery, req.query, 'query');
    const { stored, created } = await manifests.put(
      { userId: q.user_id, blockId: q.block_id, versionId: q.version_id },
      req.body,
      { ifMatch: req.headers['if-match'], ifNoneMatch: req.headers['if-none-match'] },
    );
    reply.code(created ? 201 : 200).header('etag', stored.etag);
    return {
      etag: stored.etag,
      version_id: q.version_id,
      created,
      status: stored.manifest.status,
      chunk_count: stored.manifest.chunks.length,
    };
  });
}
