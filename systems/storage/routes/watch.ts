// Watching a manifest instead of polling it: a long-poll that answers as soon as the manifest's
// ETag differs from the one the client has, and an event stream (SSE) of every change.
//
// Both subscribe to the in-process hub *before* reading the current manifest, so a write landing
// between the read and the subscription is never missed. The writer publishes after its durable
// write and never waits for a watcher: an event stream whose socket is full keeps only the latest
// manifest (a manifest is cumulative, so the latest one carries every chunk) and sends it on drain.
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { StorageContext } from '../context.ts';
import { normalizeEtag, weakMatch } from '../http.ts';
import { IdSchema, type ManifestRef, refKey } from '../keys.ts';
import { isFinal, type Manifest } from '../manifest.ts';
import { parseInput, queryInt } from '../validate.ts';

interface ManifestView {
  etag: string;
  manifest: Manifest;
}

function wire(ref: ManifestRef, v: ManifestView) {
  return { version_id: ref.versionId, etag: v.etag, status: v.manifest.status, manifest: v.manifest };
}

/** A change is a different ETag from the one the client holds (none held: any manifest is news). */
function isNews(v: ManifestView, since: string | undefined): boolean {
  return since === undefined || !weakMatch(v.etag, since);
}

type WaitOutcome =
  | { kind: 'changed'; view: ManifestView }
  | { kind: 'timeout'; exists: boolean }
  | { kind: 'gone' };

function waitForChange(
  ctx: StorageContext,
  ref: ManifestRef,
  since: string | undefined,
  timeoutMs: number,
  res: ServerResponse,
): Promise<WaitOutcome> {
  return new Promise((resolve, reject) => {
    let done = false;
    let exists = false;
    const cleanups: Array<() => void> = [];
    const finish = (outcome: WaitOutcome | Error) => {
      if (done) return;
      done = true;
      for (const c of cleanups) c();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const consider = (v: ManifestView | undefined) => {
      if (!v) return;
      exists = true;
      if (isNews(v, since)) finish({ kind: 'changed', view: v });
    };
    cleanups.push(ctx.hub.subscribe(refKey(ref), consider));
    cleanups.push(ctx.hub.onClose(() => finish({ kind: 'timeout', exists })));
    const onGone = () => finish({ kind: 'gone' });
    res.on('close', onGone);
    cleanups.push(() => res.off('close', onGone));
    if (ctx.config.watchRecheckMs > 0) {
      const recheck = setInterval(() => {
        ctx.manifests.get(ref).then(consider, () => undefined);
      }, ctx.config.watchRecheckMs);
      cleanups.push(() => clearInterval(recheck));
    }
    // The clock starts once the current state is known, so a timeout can say whether it exists.
    ctx.manifests.get(ref).then(
      (current) => {
        consider(current);
        if (done) return;
        const timer = setTimeout(() => finish({ kind: 'timeout', exists }), timeoutMs);
        cleanups.push(() => clearTimeout(timer));
      },
      (e: Error) => finish(e),
    );
  });
}

function wantsEventStream(req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes('text/event-stream');
}

/** Orders two states of one manifest: chunks only grow and a final status is last. */
function progress(m: Manifest): number {
  return m.chunks.length * 2 + (isFinal(m.status) ? 1 : 0);
}

function openEventStream(
  ctx: StorageContext,
  req: FastifyRequest,
  reply: FastifyReply,
  ref: ManifestRef,
  lastEventId: string | undefined,
): void {
  const release = ctx.hub.acquire();
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 1000\n\n');
  let lastEtag = lastEventId;
  let lastProgress = -1;
  let blocked = false;
  let ready = false;
  let pending: ManifestView | undefined;
  let closed = false;
  const cleanups: Array<() => void> = [release];

  const close = () => {
    if (closed) return;
    closed = true;
    for (const c of cleanups) c();
    if (!res.writableEnded) res.end();
  };
  const write = (v: ManifestView) => {
    lastEtag = v.etag;
    lastProgress = progress(v.manifest);
    const ok = res.write(`id: ${v.etag}\nevent: manifest\ndata: ${JSON.stringify(wire(ref, v))}\n\n`);
    if (isFinal(v.manifest.status)) {
      res.write('event: end\ndata: {}\n\n');
      close();
      return;
    }
    if (!ok) {
      blocked = true;
      res.once('drain', () => {
        blocked = false;
        const next = pending;
        pending = undefined;
        if (next) offer(next);
      });
    }
  };
  const offer = (v: ManifestView) => {
    if (closed || !isNews(v, lastEtag) || progress(v.manifest) < lastProgress) return;
    // Not ready (the first read is in flight) or the socket is full: keep only the latest state.
    if (!ready || blocked) {
      if (!pending || progress(v.manifest) >= progress(pending.manifest)) pending = v;
      return;
    }
    write(v);
  };

  cleanups.push(ctx.hub.subscribe(refKey(ref), offer));
  cleanups.push(ctx.hub.onClose(close));
  res.on('close', close);
  const heartbeat = setInterval(() => {
    if (!blocked && !closed) res.write(': ping\n\n');
  }, ctx.config.sseHeartbeatMs);
  cleanups.push(() => clearInterval(heartbeat));
  if (ctx.config.watchRecheckMs > 0) {
    const recheck = setInterval(() => {
      ctx.manifests.get(ref).then(
        (m) => m && offer(m),
        () => undefined,
      );
    }, ctx.config.watchRecheckMs);
    cleanups.push(() => clearInterval(recheck));
  }
  ctx.manifests.get(ref).then(
    (current) => {
      ready = true;
      const queued = pending;
      pending = undefined;
      if (current) offer(current);
      if (queued) offer(queued);
    },
    (e: Error) => {
      req.log.error({ err: e }, 'event stream: reading the manifest failed');
      if (!closed) res.write(`event: error\ndata: ${JSON.stringify({ message: e.message })}\n\n`);
      close();
    },
  );
}

export function registerWatchRoutes(app: FastifyInstance, ctx: StorageContext): void {
  const { config } = ctx;
  const WatchQuery = z
    .object({
      user_id: IdSchema,
      block_id: IdSchema,
      version_id: IdSchema,
      since_etag: z.string().min(1).max(200).optional(),
      timeout_ms: queryInt(0, config.maxWatchTimeoutMs).optional(),
    })
    .strict();
  const StreamQuery = z
    .object({
      user_id: IdSchema,
      block_id: IdSchema,
      version_id: IdSchema,
      last_event_id: z.string().min(1).max(200).optional(),
      since_etag: z.string().min(1).max(200).optional(),
    })
    .strict();
  const lastEventIdOf = (req: FastifyRequest, q: { last_event_id?: string; since_etag?: string }) => {
    const raw = q.last_event_id ?? q.since_etag ?? (req.headers['last-event-id'] as string | undefined);
    return raw === undefined ? undefined : normalizeEtag(raw);
  };

  app.get('/files/watch', async (req, reply) => {
    if (wantsEventStream(req)) {
      const q = parseInput(StreamQuery, req.query, 'query');
      const ref = { userId: q.user_id, blockId: q.block_id, versionId: q.version_id };
      openEventStream(ctx, req, reply, ref, lastEventIdOf(req, q));
      return reply;
    }
    const q = parseInput(WatchQuery, req.query, 'query');
    const ref = { userId: q.user_id, blockId: q.block_id, versionId: q.version_id };
    const sinceRaw = q.since_etag ?? req.headers['if-none-match'];
    const since = sinceRaw === undefined ? undefined : normalizeEtag(sinceRaw);
    const release = ctx.hub.acquire();
    try {
      const outcome = await waitForChange(ctx, ref, since, q.timeout_ms ?? config.watchTimeoutMs, reply.raw);
      reply.header('cache-control', 'no-store');
      if (outcome.kind === 'changed') {
        reply.header('etag', outcome.view.etag);
        return { changed: true, ...wire(ref, outcome.view) };
      }
      if (outcome.kind === 'timeout' && outcome.exists && since) reply.header('etag', since);
      // Timeout: 304 when the client's manifest is still current, 204 when there is none yet.
      return reply.code(outcome.kind === 'timeout' && outcome.exists ? 304 : 204).send();
    } finally {
      release();
    }
  });

  app.get('/files/watch/stream', async (req, reply) => {
    const q = parseInput(StreamQuery, req.query, 'query');
    const ref = { userId: q.user_id, blockId: q.block_id, versionId: q.version_id };
    openEventStream(ctx, req, reply, ref, lastEventIdOf(req, q));
    return reply;
  });
}
