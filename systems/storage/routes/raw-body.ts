// Raw byte bodies (parts and single-part objects): a scoped stream parser for every media type,
// so the handler streams the body to disk instead of fastify buffering it.
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { drainLimit, type StorageContext } from '../context.ts';
import { StorageError } from '../errors.ts';
import { type SpooledBody, spoolBody } from '../fs-util.ts';

/** Inside a plugin scope: bodies of any media type arrive as the raw stream (no limit: we count). */
export function acceptRawBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
}

/** Reads and discards the rest of a body; false when it was longer than `maxBytes`. */
export function drain(raw: IncomingMessage, maxBytes: number): Promise<boolean> {
  if (raw.readableEnded || raw.complete) return Promise.resolve(true);
  if (raw.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (ok: boolean) => {
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
    raw.on('data', onData);
    raw.on('end', onEnd);
    raw.on('error', onError);
    raw.resume();
  });
}

/** Refuses a body whose Content-Length already says it is too large (the error handler drains it). */
export function refuseDeclaredOversize(req: FastifyRequest, ctx: StorageContext): void {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > ctx.config.maxPartBytes) {
    throw new StorageError(
      'STORAGE_PART_TOO_LARGE',
      `Content-Length ${declared} exceeds maxPartBytes (${ctx.config.maxPartBytes} bytes); nothing was stored`,
    );
  }
}

/** Spools the request body to a temp file (counted, hashed, fsynced). */
export function spoolRequest(req: FastifyRequest, ctx: StorageContext): Promise<SpooledBody> {
  const body =
    req.body instanceof Readable ? req.body : req.body === undefined ? Readable.from([]) : undefined;
  if (!body) throw new StorageError('STORAGE_INVALID_INPUT', 'expected a raw byte body');
  return spoolBody(body, ctx.backend.spoolDir, ctx.config.maxPartBytes, drainLimit(ctx.config), {
    md5: ctx.backend.spoolMd5,
  });
}
