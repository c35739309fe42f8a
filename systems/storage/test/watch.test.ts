// Watching instead of polling: the long-poll answers on the write itself, the event stream carries
// every change, watchers are bounded, and a watcher that does not read never holds up a writer.
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { FsBackend } from '../backends/fs-backend.ts';
import { readServerSentEvents } from '../client/sse.ts';
import { isStorageError } from '../errors.ts';
import { json, startStorage, until } from './helpers.ts';

const ref = { userId: 'u1', blockId: 'b1', versionId: 'v1' };
const query = 'user_id=u1&block_id=b1&version_id=v1';

describe('long-poll watch', () => {
  it('answers at once when the client holds an older ETag, and 304 on timeout when it holds the current one', async () => {
    const { url, client } = await startStorage();
    const a = await client.putManifest(ref, { status: 'generating', chunks: [] }, { ifNoneMatch: '*' });
    const fresh = await fetch(`${url}/files/watch?${query}&timeout_ms=60000`);
    expect(fresh.status).toBe(200);
    expect((await json(fresh)).etag).toBe(a.etag);
    const b = await client.putManifest(ref, { status: 'generating', chunks: [], n: 1 }, { ifMatch: a.etag });
    const older = await fetch(
      `${url}/files/watch?${query}&since_etag=${encodeURIComponent(a.etag)}&timeout_ms=60000`,
    );
    expect((await json(older)).etag).toBe(b.etag);
    const current = await fetch(
      `${url}/files/watch?${query}&since_etag=${encodeURIComponent(b.etag)}&timeout_ms=0`,
    );
    expect(current.status).toBe(304);
    expect(current.headers.get('etag')).toBe(b.etag);
    const none = await fetch(`${url}/files/watch?user_id=u1&block_id=b1&version_id=nothing&timeout_ms=0`);
    expect(none.status).toBe(204);
    const tooLong = await fetch(`${url}/files/watch?${query}&timeout_ms=999999999`);
    expect((await json(tooLong)).error?.code).toBe('STORAGE_INVALID_INPUT');
  });

  it('a waiting watcher is answered by the write: it returns exactly the ETag that write produced', async () => {
    const { server, client } = await startStorage();
    const a = await client.putManifest(ref, { status: 'generating', chunks: [] }, { ifNoneMatch: '*' });
    // A timeout far longer than the test: only the write can end this wait.
    const waiting = client.watch(ref, { sinceEtag: a.etag, timeoutMs: 300_000 });
    let answered = false;
    void waiting.then(() => {
      answered = true;
    });
    await until(() => server.hub.watchers === 1, 'the watcher to register');
    expect(answered).toBe(false);
    const b = await client.putManifest(
      ref,
      { status: 'generating', chunks: [], step: 2 },
      { ifMatch: a.etag },
    );
    const r = await waiting;
    expect(r.changed).toBe(true);
    expect(r.changed && r.etag).toBe(b.etag);
    expect(r.changed && (r.manifest as Record<string, unknown>).step).toBe(2);
    await until(() => server.hub.watchers === 0, 'the watcher to be released');
  });

  it('waits for a manifest that does not exist yet, and is answered by its creation', async () => {
    const { server, client } = await startStorage();
    const waiting = client.watch(ref, { timeoutMs: 300_000 });
    await until(() => server.hub.watchers === 1, 'the watcher to register');
    const created = await client.putManifest(ref, { status: 'generating', chunks: [] }, { ifNoneMatch: '*' });
    const r = await waiting;
    expect(r.changed && r.etag).toBe(created.etag);
  });

  it('bounds watchers: past maxWatchers -> 503 STORAGE_TOO_MANY_WATCHERS with Retry-After', async () => {
    const { server, url, client } = await startStorage({ maxWatchers: 2 });
    const controller = new AbortController();
    const held = [1, 2].map(() =>
      client.watch(ref, { timeoutMs: 300_000, signal: controller.signal }).catch((e: unknown) => e),
    );
    await until(() => server.hub.watchers === 2, 'two watchers');
    const third = await fetch(`${url}/files/watch?${query}&timeout_ms=1000`);
    expect(third.status).toBe(503);
    expect(third.headers.get('retry-after')).toBe('1');
    expect((await json(third)).error?.code).toBe('STORAGE_TOO_MANY_WATCHERS');
    const sse = await fetch(`${url}/files/watch/stream?${query}`);
    expect(sse.status).toBe(503);
    await sse.arrayBuffer();
    controller.abort();
    await Promise.all(held);
    // Disconnected watchers give their slots back.
    await until(() => server.hub.watchers === 0, 'slots released');
    const again = client.watch(ref, { timeoutMs: 0 });
    expect((await again).changed).toBe(false);
  });
});

describe('event stream (SSE)', () => {
  it('streams each change with its ETag as id, ends after completed, and resumes after Last-Event-ID', async () => {
    const { server, client } = await startStorage();
    const controller = new AbortController();
    const events: Array<{ etag: string; status: string }> = [];
    const reading = (async () => {
      for await (const e of client.watchStream(ref, { signal: controller.signal })) {
        events.push({ etag: e.etag, status: e.manifest.status });
      }
    })();
    await until(() => server.hub.watchers === 1, 'the stream to open');
    const etags: string[] = [];
    let etag = (await client.putManifest(ref, { status: 'generating', chunks: [] }, { ifNoneMatch: '*' }))
      .etag;
    etags.push(etag);
    await until(() => events.length === 1, 'the first event');
    etag = (await client.putManifest(ref, { status: 'generating', chunks: [], n: 1 }, { ifMatch: etag }))
      .etag;
    etags.push(etag);
    await until(() => events.length === 2, 'the second event');
    etag = (await client.putManifest(ref, { status: 'completed', chunks: [], n: 1 }, { ifMatch: etag })).etag;
    etags.push(etag);
    await reading; // the server ends the stream after a final manifest
    expect(events).toEqual([
      { etag: etags[0], status: 'generating' },
      { etag: etags[1], status: 'generating' },
      { etag: etags[2], status: 'completed' },
    ]);
    // Reconnecting with an earlier id (Last-Event-ID): only what came after it is sent.
    const resumed: string[] = [];
    const again = (async () => {
      for await (const e of client.watchStream(ref, {
        lastEventId: etags[1] as string,
        signal: controller.signal,
      })) {
        resumed.push(e.etag);
      }
    })();
    await again;
    expect(resumed).toEqual([etags[2]]);
  });

  it('the same stream through GET /files/watch with Accept: text/event-stream', async () => {
    const { url, client } = await startStorage();
    const { etag } = await client.putManifest(ref, { status: 'completed', chunks: [] }, { ifNoneMatch: '*' });
    const res = await fetch(`${url}/files/watch?${query}`, { headers: { accept: 'text/event-stream' } });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const seen = [];
    for await (const e of readServerSentEvents(res.body as ReadableStream<Uint8Array>)) seen.push(e);
    expect(seen.map((e) => [e.event, e.id])).toEqual([
      ['manifest', etag],
      ['end', etag],
    ]);
  });

  it('a watcher that does not read never holds up writers; it then gets the latest state', async () => {
    const { server, url, client } = await startStorage({ maxManifestBytes: 1024 * 1024 });
    const u = new URL(`${url}/files/watch/stream?${query}`);
    // A raw client that reads nothing until told to.
    let res!: http.IncomingMessage;
    const req = http.get({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}` }, (r) => {
      res = r;
      r.pause();
    });
    await until(() => server.hub.watchers === 1 && res !== undefined, 'the stream to open');
    const pad = 'x'.repeat(400_000);
    let etag = (
      await client.putManifest(ref, { status: 'generating', chunks: [], pad, n: 0 }, { ifNoneMatch: '*' })
    ).etag;
    const writes = 40;
    for (let n = 1; n < writes; n++) {
      etag = (await client.putManifest(ref, { status: 'generating', chunks: [], pad, n }, { ifMatch: etag }))
        .etag;
    }
    etag = (
      await client.putManifest(ref, { status: 'completed', chunks: [], pad, n: writes }, { ifMatch: etag })
    ).etag;
    // Every write finished while the watcher read nothing. Now read: the stream ends with the final state.
    const ids: string[] = [];
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      buffer += c;
    });
    res.resume();
    await new Promise((r) => res.on('end', r));
    req.destroy();
    for (const m of buffer.matchAll(/^id: (.*)$/gm)) ids.push(m[1] as string);
    expect(ids.at(-1)).toBe(etag);
    expect(ids.length).toBeLessThanOrEqual(writes + 1);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('writers elsewhere (watchRecheckMs)', () => {
  it('a watcher also sees a write that did not go through this server', async () => {
    const { server, root, client } = await startStorage({ watchRecheckMs: 20 });
    const a = await client.putManifest(ref, { status: 'generating', chunks: [] }, { ifNoneMatch: '*' });
    const waiting = client.watch(ref, { sinceEtag: a.etag, timeoutMs: 300_000 });
    await until(() => server.hub.watchers === 1, 'the watcher to register');
    // Another writer on the same storage (as another instance on a shared bucket would be): the
    // in-process notification never fires, the recheck finds the change.
    const elsewhere = new FsBackend(root);
    const b = await elsewhere.putManifest(ref, Buffer.from('{"status":"completed","chunks":[]}'), {
      ifMatch: a.etag,
    });
    const r = await waiting;
    expect(r.changed && r.etag).toBe(b.etag);
  });
});

describe('watch errors', () => {
  it('validates the query', async () => {
    const { client } = await startStorage();
    const e = await client.watch({ ...ref, userId: '../x' }).catch((x) => x);
    expect(isStorageError(e, 'STORAGE_BAD_KEY')).toBe(true);
  });
});
