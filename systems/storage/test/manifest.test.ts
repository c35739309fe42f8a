// Manifests: create-only and compare-and-swap writes, racing writers, append-only updates,
// versions and the latest pointer.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StreamProducer } from '../client/stream-producer.ts';
import { isStorageError } from '../errors.ts';
import type { Manifest } from '../manifest.ts';
import { json, putJson, startStorage } from './helpers.ts';

const ref = { userId: 'u1', blockId: 'b1', versionId: 'v1' };
const query = 'user_id=u1&block_id=b1&version_id=v1';

function chunk(index: number, key = `u1/b1/v1/c${index}`) {
  return {
    name: `c${index}`,
    key,
    size: 1,
    sha256: createHash('sha256').update(String(index)).digest('hex'),
    index,
  };
}

describe('manifest writes', () => {
  it('of two racing creators (If-None-Match: *) exactly one wins, the other gets 412', async () => {
    const { url, client } = await startStorage();
    for (let round = 0; round < 5; round++) {
      const q = `user_id=u1&block_id=b1&version_id=race${round}`;
      const bodies = [
        { status: 'generating', chunks: [], writer: 'a' },
        { status: 'generating', chunks: [], writer: 'b' },
      ];
      const answers = await Promise.all(
        bodies.map((b) => putJson(`${url}/upload/manifest?${q}`, b, { 'if-none-match': '*' })),
      );
      const statuses = answers.map((r) => r.status).sort();
      expect(statuses).toEqual([201, 412]);
      const winner = answers.find((r) => r.status === 201) as Response;
      const loser = answers.find((r) => r.status === 412) as Response;
      expect((await json(loser)).error?.code).toBe('STORAGE_PRECONDITION_FAILED');
      const won = await json(winner);
      // The ETag answered is the one of exactly the write that won.
      expect(winner.headers.get('etag')).toBe(won.etag);
      const stored = await client.getManifest({ ...ref, versionId: `race${round}` });
      expect(stored !== undefined && stored !== 'not-modified' && stored.etag).toBe(won.etag);
    }
  });

  it('updates need If-Match: missing -> 428, wrong -> 412, right -> 200 with the new ETag', async () => {
    const { url } = await startStorage();
    const missingOnCreate = await putJson(`${url}/upload/manifest?${query}`, {
      status: 'generating',
      chunks: [],
    });
    expect(missingOnCreate.status).toBe(428);
    expect((await json(missingOnCreate)).error?.code).toBe('STORAGE_PRECONDITION_REQUIRED');
    const created = await putJson(
      `${url}/upload/manifest?${query}`,
      { status: 'generating', chunks: [] },
      { 'if-none-match': '*' },
    );
    expect(created.status).toBe(201);
    const etag = created.headers.get('etag') as string;
    const next = { status: 'generating', chunks: [chunk(0)] };
    const missing = await putJson(`${url}/upload/manifest?${query}`, next);
    expect(missing.status).toBe(428);
    expect((await json(missing)).error?.code).toBe('STORAGE_PRECONDITION_REQUIRED');
    const wrong = await putJson(`${url}/upload/manifest?${query}`, next, { 'if-match': '"0123"' });
    expect(wrong.status).toBe(412);
    expect((await json(wrong)).error?.code).toBe('STORAGE_PRECONDITION_FAILED');
    const weak = await putJson(`${url}/upload/manifest?${query}`, next, { 'if-match': `W/${etag}` });
    expect(weak.status).toBe(412);
    const again = await putJson(`${url}/upload/manifest?${query}`, next, { 'if-none-match': '*' });
    expect(again.status).toBe(412);
    const ok = await putJson(`${url}/upload/manifest?${query}`, next, { 'if-match': etag });
    expect(ok.status).toBe(200);
    const newEtag = ok.headers.get('etag');
    expect(newEtag).not.toBe(etag);
    expect((await json(ok)).etag).toBe(newEtag);
    // The old ETag is now stale.
    const stale = await putJson(
      `${url}/upload/manifest?${query}`,
      { status: 'completed', chunks: [chunk(0)] },
      { 'if-match': etag },
    );
    expect(stale.status).toBe(412);
    // If-Match on a manifest that does not exist is false (RFC 9110): 412.
    const none = await putJson(`${url}/upload/manifest?user_id=u1&block_id=b1&version_id=nope`, next, {
      'if-match': etag,
    });
    expect(none.status).toBe(412);
  });

  it('validates bodies and keeps manifests append-only; a final manifest no longer changes', async () => {
    const { url } = await startStorage({ maxManifestBytes: 2048 });
    const put = (body: unknown, headers: Record<string, string>) =>
      putJson(`${url}/upload/manifest?${query}`, body, headers);
    const bad: Array<[unknown, string]> = [
      [{ status: 'done', chunks: [] }, 'status'],
      [{ status: 'generating' }, 'chunks'],
      [{ status: 'generating', chunks: [{ ...chunk(0), sha256: 'xyz' }] }, 'chunks.0.sha256'],
      [{ status: 'generating', chunks: [chunk(1)] }, 'chunks.0.index'],
      [{ status: 'generating', chunks: [chunk(0, '../etc/passwd')] }, 'chunks.0.key'],
    ];
    for (const [body, field] of bad) {
      const res = await put(body, { 'if-none-match': '*' });
      const b = await json(res);
      expect(res.status, field).toBe(400);
      expect(b.error?.code).toBe('STORAGE_MANIFEST_INVALID');
      expect(b.error?.message).toContain(field);
    }
    const tooBig = await put(
      { status: 'generating', chunks: [], pad: 'x'.repeat(4096) },
      { 'if-none-match': '*' },
    );
    expect(tooBig.status).toBe(413);
    expect((await json(tooBig)).error?.code).toBe('STORAGE_MANIFEST_TOO_LARGE');
    const onlyStar = await put({ status: 'generating', chunks: [] }, { 'if-none-match': '"abc"' });
    expect((await json(onlyStar)).error?.code).toBe('STORAGE_INVALID_INPUT');

    let etag = (
      await put({ status: 'generating', chunks: [chunk(0)], title: 't' }, { 'if-none-match': '*' })
    ).headers.get('etag') as string;
    const drop = await put({ status: 'generating', chunks: [] }, { 'if-match': etag });
    expect(drop.status).toBe(409);
    expect((await json(drop)).error?.code).toBe('STORAGE_MANIFEST_NOT_APPENDABLE');
    const rewrite = await put(
      { status: 'generating', chunks: [chunk(0, 'u1/b1/v1/other')] },
      { 'if-match': etag },
    );
    expect((await json(rewrite)).error?.code).toBe('STORAGE_MANIFEST_NOT_APPENDABLE');
    const done = await put({ status: 'completed', chunks: [chunk(0), chunk(1)] }, { 'if-match': etag });
    expect(done.status).toBe(200);
    etag = done.headers.get('etag') as string;
    const after = await put({ status: 'generating', chunks: [chunk(0), chunk(1)] }, { 'if-match': etag });
    expect((await json(after)).error?.code).toBe('STORAGE_MANIFEST_NOT_APPENDABLE');
    // Repeating the very same write is idempotent: 200 with the same ETag.
    const same = await put({ status: 'completed', chunks: [chunk(0), chunk(1)] }, { 'if-match': etag });
    expect(same.status).toBe(200);
    expect(same.headers.get('etag')).toBe(etag);
  });

  it('GET answers the manifest with its ETag, 304 on If-None-Match, 404 when absent', async () => {
    const { url, client } = await startStorage();
    const absent = await fetch(`${url}/upload/manifest?${query}`);
    expect(absent.status).toBe(404);
    expect((await json(absent)).error?.code).toBe('STORAGE_NOT_FOUND');
    const { etag } = await client.putManifest(
      ref,
      { status: 'generating', chunks: [], note: 'hi' },
      { ifNoneMatch: '*' },
    );
    const res = await fetch(`${url}/upload/manifest?${query}`);
    expect(res.headers.get('etag')).toBe(etag);
    expect(await res.json()).toEqual({ status: 'generating', chunks: [], note: 'hi' });
    const notModified = await fetch(`${url}/upload/manifest?${query}`, {
      headers: { 'if-none-match': etag },
    });
    expect(notModified.status).toBe(304);
  });

  it('20 concurrent appenders with If-Match retries: every chunk listed exactly once, indexed 0..19', async () => {
    const { client } = await startStorage();
    const producers = Array.from(
      { length: 20 },
      () => new StreamProducer(client, { ...ref, maxRetries: 1000 }),
    );
    await Promise.all(producers.map((p) => p.start()));
    const appended = await Promise.all(
      producers.map((p, i) => p.append(new TextEncoder().encode(`chunk from ${i}`))),
    );
    const got = await client.getManifest(ref);
    if (got === undefined || got === 'not-modified') throw new Error('no manifest');
    const m: Manifest = got.manifest;
    expect(m.chunks.length).toBe(20);
    expect(m.chunks.map((c) => c.index)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(new Set(m.chunks.map((c) => c.key)).size).toBe(20);
    expect(new Set(appended.map((a) => a.key))).toEqual(new Set(m.chunks.map((c) => c.key)));
    for (const a of appended) expect(m.chunks[a.index]?.key).toBe(a.key);
    // Every chunk's bytes are downloadable and match its listed SHA-256.
    for (const c of m.chunks) {
      const b = await client.download(c.key);
      expect(createHash('sha256').update(b).digest('hex')).toBe(c.sha256);
    }
  });

  it('one producer pipelines its appends but lists them in call order', async () => {
    const { client } = await startStorage();
    const p = new StreamProducer(client, { ...ref, versionId: 'ordered' });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => p.append(new Uint8Array([i]))));
    expect(results.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await p.finish({ total: 10 });
    const got = await client.getManifest({ ...ref, versionId: 'ordered' });
    if (got === undefined || got === 'not-modified') throw new Error('no manifest');
    expect(got.manifest.status).toBe('completed');
    expect((got.manifest as Record<string, unknown>).total).toBe(10);
    const e = await p.append(new Uint8Array([1])).catch((x) => x);
    expect(isStorageError(e, 'STORAGE_MANIFEST_NOT_APPENDABLE')).toBe(true);
  });
});

describe('versions', () => {
  it('latest_version: newest version unless one is published; 304 on a matching If-None-Match', async () => {
    const { url, client } = await startStorage();
    const none = await fetch(`${url}/files/latest_version?user_id=u1&block_id=b1`);
    expect(none.status).toBe(404);
    await client.putManifest(
      { ...ref, versionId: 'a' },
      { status: 'completed', chunks: [] },
      { ifNoneMatch: '*' },
    );
    await client.putManifest(
      { ...ref, versionId: 'b' },
      { status: 'generating', chunks: [] },
      { ifNoneMatch: '*' },
    );
    const first = await fetch(`${url}/files/latest_version?user_id=u1&block_id=b1&include_manifest=true`);
    const body = await json(first);
    expect(body.version_id).toBe('b');
    expect(body.manifest).toEqual({ status: 'generating', chunks: [] });
    const validator = first.headers.get('etag') as string;
    const cached = await fetch(`${url}/files/latest_version?user_id=u1&block_id=b1`, {
      headers: { 'if-none-match': validator },
    });
    expect(cached.status).toBe(304);
    // Publishing 'a' changes the answer (and its validator), though both manifests are empty.
    await client.publishVersion({ ...ref, versionId: 'a' });
    const moved = await fetch(`${url}/files/latest_version?user_id=u1&block_id=b1`, {
      headers: { 'if-none-match': validator },
    });
    expect(moved.status).toBe(200);
    expect((await json(moved)).version_id).toBe('a');
    const list = await client.versions('u1', 'b1');
    expect(list.latestVersionId).toBe('a');
    expect(list.versions.map((v) => [v.versionId, v.status, v.latest])).toEqual([
      ['a', 'completed', true],
      ['b', 'generating', false],
    ]);
    const missing = await client.publishVersion({ ...ref, versionId: 'zzz' }).catch((e) => e);
    expect(isStorageError(missing, 'STORAGE_NOT_FOUND')).toBe(true);
    const badFlag = await fetch(`${url}/files/latest_version?user_id=u1&block_id=b1&include_manifest=maybe`);
    expect((await json(badFlag)).error?.code).toBe('STORAGE_INVALID_INPUT');
  });
});
