// Signed download URLs and the download itself: one byte range per request (RFC 9110 section 14),
// conditional GET, and keys that can never leave the storage root.
//
// URL layout: /download/stream/<encodeURIComponent(key)>?expires=<unix s>&sig=<base64url HMAC>
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ObjectInfo, ObjectRange } from '../backends/types.ts';
import type { StorageContext } from '../context.ts';
import { StorageError } from '../errors.ts';
import { ifNoneMatchPasses, parseRange, strongMatch } from '../http.ts';
import { KeySchema, parseKey } from '../keys.ts';
import { parseInput, queryInt } from '../validate.ts';

export const STREAM_PREFIX = '/download/stream/';

/** The path of a signed URL for `key` (before the origin). */
export function streamPath(key: string, expires: number, sig: string): string {
  return `${STREAM_PREFIX}${encodeURIComponent(key)}?expires=${expires}&sig=${sig}`;
}

/** The key of a stream request, decoded once from the raw URL and checked; STORAGE_BAD_KEY otherwise. */
export function keyFromUrl(rawUrl: string): string {
  const pathname = rawUrl.split('?')[0] ?? '';
  const encoded = pathname.slice(STREAM_PREFIX.length);
  let key: string;
  try {
    key = decodeURIComponent(encoded);
  } catch {
    throw new StorageError('STORAGE_BAD_KEY', 'the key in the URL is not valid percent-encoding');
  }
  parseKey(key);
  return key;
}

const StreamQuery = z
  .object({ expires: z.string().max(16).optional(), sig: z.string().max(128).optional() })
  .strict();

function setObjectHeaders(reply: FastifyReply, info: ObjectInfo, expires: number): void {
  const maxAge = Math.max(0, expires - Math.floor(Date.now() / 1000));
  reply
    .header('accept-ranges', 'bytes')
    .header('etag', info.etag)
    .header('last-modified', new Date(info.lastModified).toUTCString())
    .header('cache-control', `private, max-age=${maxAge}`)
    .type(info.contentType);
  if (info.sha256) reply.header('x-content-sha256', info.sha256);
}

/** The range to serve: none (whole body), one range, or 416. If-Range mismatches mean the whole body. */
function selectRange(req: FastifyRequest, info: ObjectInfo): ObjectRange | undefined {
  const ifRange = req.headers['if-range'];
  if (typeof ifRange === 'string' && !strongMatch(ifRange.trim(), info.etag)) return undefined;
  const r = parseRange(req.headers.range, info.size);
  if (r.kind === 'unsatisfiable') {
    throw new StorageError(
      'STORAGE_RANGE_NOT_SATISFIABLE',
      `range ${req.headers.range} is outside the ${info.size}-byte object`,
    );
  }
  return r.kind === 'range' ? { start: r.start, end: r.end } : undefined;
}

export function registerDownloadRoutes(app: FastifyInstance, ctx: StorageContext): void {
  const { backend, config, signer } = ctx;
  const UrlQuery = z
    .object({ key: KeySchema, expires_in: queryInt(1, config.maxExpiresIn).optional() })
    .strict();

  app.get('/download/url', async (req) => {
    const q = parseInput(UrlQuery, req.query, 'query');
    const expiresIn = q.expires_in ?? config.defaultExpiresIn;
    if (!(await backend.headObject(q.key))) throw new StorageError('STORAGE_NOT_FOUND', `no object ${q.key}`);
    const expires = Math.floor(Date.now() / 1000) + expiresIn;
    const url = backend.presignGet
      ? await backend.presignGet(q.key, expiresIn)
      : `${config.publicUrl?.replace(/\/+$/, '') ?? `${req.protocol}://${req.host}`}${streamPath(
          q.key,
          expires,
          signer.sign('GET', q.key, expires),
        )}`;
    return { url, key: q.key, expires_at: new Date(expires * 1000).toISOString(), expires_in: expiresIn };
  });

  const serve = async (req: FastifyRequest, reply: FastifyReply, withBody: boolean) => {
    // The key first: a traversal attempt is refused before anything else is looked at.
    const key = keyFromUrl(req.raw.url ?? '');
    const q = parseInput(StreamQuery, req.query, 'query');
    signer.verify('GET', key, q.expires, q.sig, Math.floor(Date.now() / 1000));
    const expires = Number(q.expires);
    let info: ObjectInfo | undefined;
    try {
      if (!withBody) {
        info = await backend.headObject(key);
        if (!info) throw new StorageError('STORAGE_NOT_FOUND', `no object ${key}`);
        setObjectHeaders(reply, info, expires);
        const range = selectRange(req, info);
        return sendHead(reply, info, range);
      }
      const inm = req.headers['if-none-match'];
      const opened = await backend.openObject(key, (i) => {
        info = i;
        if (inm !== undefined && !ifNoneMatchPasses(inm, i.etag)) return undefined;
        return selectRange(req, i);
      });
      if (!opened) throw new StorageError('STORAGE_NOT_FOUND', `no object ${key}`);
      setObjectHeaders(reply, opened.info, expires);
      if (inm !== undefined && !ifNoneMatchPasses(inm, opened.info.etag)) {
        opened.stream.destroy();
        return reply.code(304).send();
      }
      const { range } = opened;
      if (range) {
        reply
          .code(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${opened.info.size}`)
          .header('content-length', String(range.end - range.start + 1));
      } else {
        reply.header('content-length', String(opened.info.size));
      }
      return reply.send(opened.stream);
    } catch (e) {
      if (e instanceof StorageError && e.code === 'STORAGE_RANGE_NOT_SATISFIABLE' && info) {
        reply.header('content-range', `bytes */${info.size}`).header('accept-ranges', 'bytes');
      }
      throw e;
    }
  };

  app.get(`${STREAM_PREFIX}*`, { exposeHeadRoute: false }, (req, reply) => serve(req, reply, true));
  app.head(`${STREAM_PREFIX}*`, (req, reply) => serve(req, reply, false));
}

function sendHead(reply: FastifyReply, info: ObjectInfo, range: ObjectRange | undefined): FastifyReply {
  if (range) {
    return reply
      .code(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${info.size}`)
      .header('content-length', String(range.end - range.start + 1))
      .send();
  }
  return reply.header('content-length', String(info.size)).send();
}
