// Multipart uploads: parts in any order, S3's complete-time checks, limits, abort and listing.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isStorageError } from '../errors.ts';
import { bytes, json, listFiles, postJson, startStorage } from './helpers.ts';

const target = { userId: 'u1', blockId: 'b1', versionId: 'v1', fileName: 'data.bin' };

/** The fs backend's ETag digest of a body: the first 16 bytes of its SHA-256 (an ETag is opaque). */
function digest(b: Uint8Array): Buffer {
  return createHash('sha256').update(b).digest().subarray(0, 16);
}

describe('multipart uploads', () => {
  it('assembles parts uploaded out of order; the ETag is md5(part digests)-N and the bytes are exact', async () => {
    const { client } = await startStorage({ minPartBytes: 1024 });
    const parts = [bytes(2048, 1), bytes(2048, 2), bytes(100, 3)];
    const init = await client.initUpload(target);
    expect(init.key).toBe('u1/b1/v1/data.bin');
    expect(init.versionId).toBe('v1');
    const etags: string[] = [];
    for (const i of [2, 0, 1]) {
      const r = await client.uploadPart(init.uploadId, i + 1, parts[i] as Uint8Array);
      expect(r.etag).toBe(`"${digest(parts[i] as Uint8Array).toString('hex')}"`);
      etags[i] = r.etag;
    }
    const done = await client.completeUpload(
      init.uploadId,
      etags.map((etag, i) => ({ partNumber: i + 1, etag })),
    );
    const whole = Buffer.concat(parts);
    const expectedEtag = `"${createHash('md5')
      .update(Buffer.concat(parts.map(digest)))
      .digest('hex')}-3"`;
    expect(done.etag).toBe(expectedEtag);
    expect(done.size).toBe(whole.length);
    expect(done.sha256).toBe(createHash('sha256').update(whole).digest('hex'));
    expect(Buffer.from(await client.download(done.key))).toEqual(whole);
    // The upload is gone once completed.
    expect(await client.listUploads()).toEqual([]);
  });

  it('re-uploading a part replaces it; complete must name the latest ETag', async () => {
    const { client } = await startStorage();
    const init = await client.initUpload(target);
    const first = await client.uploadPart(init.uploadId, 1, bytes(10, 1));
    const second = await client.uploadPart(init.uploadId, 1, bytes(10, 2));
    expect(await client.listParts(init.uploadId)).toEqual([{ partNumber: 1, etag: second.etag, size: 10 }]);
    const stale = await client
      .completeUpload(init.uploadId, [{ partNumber: 1, etag: first.etag }])
      .catch((e) => e);
    expect(isStorageError(stale, 'STORAGE_INVALID_PART')).toBe(true);
    const ok = await client.completeUpload(init.uploadId, [{ partNumber: 1, etag: second.etag }]);
    expect(Buffer.from(await client.download(ok.key))).toEqual(Buffer.from(bytes(10, 2)));
  });

  it('complete refuses a wrong ETag, a missing part, an unordered or empty list, and keeps the upload', async () => {
    const { client, url } = await startStorage();
    const init = await client.initUpload(target);
    const p1 = await client.uploadPart(init.uploadId, 1, bytes(10, 1));
    const p2 = await client.uploadPart(init.uploadId, 2, bytes(10, 2));
    const cases: Array<[unknown[], string]> = [
      [
        [
          { part_number: 1, etag: p1.etag },
          { part_number: 2, etag: '"00000000000000000000000000000000"' },
        ],
        'STORAGE_INVALID_PART',
      ],
      [
        [
          { part_number: 1, etag: p1.etag },
          { part_number: 3, etag: p2.etag },
        ],
        'STORAGE_INVALID_PART',
      ],
      [
        [
          { part_number: 2, etag: p2.etag },
          { part_number: 1, etag: p1.etag },
        ],
        'STORAGE_INVALID_PART_ORDER',
      ],
      [
        [
          { part_number: 1, etag: p1.etag },
          { part_number: 1, etag: p1.etag },
        ],
        'STORAGE_INVALID_PART_ORDER',
      ],
      [[], 'STORAGE_INVALID_PART_ORDER'],
    ];
    for (const [parts, code] of cases) {
      const res = await postJson(`${url}/upload/complete`, { upload_id: init.uploadId, parts });
      expect(res.status, JSON.stringify(parts)).toBe(400);
      expect((await json(res)).error?.code).toBe(code);
    }
    expect((await client.listUploads()).map((u) => u.uploadId)).toEqual([init.uploadId]);
    // Unquoted ETags are accepted as the same tag.
    const ok = await client.completeUpload(init.uploadId, [
      { partNumber: 1, etag: p1.etag.replaceAll('"', '') },
      { partNumber: 2, etag: p2.etag },
    ]);
    expect(ok.size).toBe(20);
  });

  it('refuses part numbers 0 and 10001 (and non-integers) with STORAGE_INVALID_PART_NUMBER', async () => {
    const { client, url } = await startStorage();
    const init = await client.initUpload(target);
    for (const n of ['0', '10001', '-1', '1.5']) {
      const res = await fetch(`${url}/upload/chunk/${init.uploadId}/${n}`, { method: 'PUT', body: 'x' });
      const body = await json(res);
      expect(res.status, n).toBe(400);
      expect(body.error?.code, n).toBe(n === '1.5' ? 'STORAGE_INVALID_INPUT' : 'STORAGE_INVALID_PART_NUMBER');
    }
    expect((await client.uploadPart(init.uploadId, 10_000, bytes(1))).partNumber).toBe(10_000);
    const res = await postJson(`${url}/upload/complete`, {
      upload_id: init.uploadId,
      parts: [{ part_number: 0, etag: 'x' }],
    });
    expect((await json(res)).error?.code).toBe('STORAGE_INVALID_PART_NUMBER');
  });

  it('an oversize part gets 413 and nothing is written, declared or streamed', async () => {
    const { client, url, root } = await startStorage({ maxPartBytes: 1024 });
    const init = await client.initUpload(target);
    const before = await listFiles(root);
    // Content-Length declared up front.
    const declared = await fetch(`${url}/upload/chunk/${init.uploadId}/1`, {
      method: 'PUT',
      body: bytes(1025),
    });
    expect(declared.status).toBe(413);
    expect((await json(declared)).error?.code).toBe('STORAGE_PART_TOO_LARGE');
    // Chunked transfer: only counting can catch it.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes(600));
        c.enqueue(bytes(600));
        c.close();
      },
    });
    const chunked = await fetch(`${url}/upload/chunk/${init.uploadId}/1`, {
      method: 'PUT',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await json(chunked)).error?.code).toBe('STORAGE_PART_TOO_LARGE');
    expect(await listFiles(root)).toEqual(before);
    expect(await client.listParts(init.uploadId)).toEqual([]);
    // Exactly the limit is fine.
    expect((await client.uploadPart(init.uploadId, 1, bytes(1024))).size).toBe(1024);
  });

  it('checks minPartBytes at complete for every part but the last', async () => {
    const { client } = await startStorage({ minPartBytes: 100 });
    const init = await client.initUpload(target);
    const a = await client.uploadPart(init.uploadId, 1, bytes(50));
    const b = await client.uploadPart(init.uploadId, 2, bytes(50));
    const err = await client
      .completeUpload(init.uploadId, [
        { partNumber: 1, etag: a.etag },
        { partNumber: 2, etag: b.etag },
      ])
      .catch((e) => e);
    expect(isStorageError(err, 'STORAGE_PART_TOO_SMALL')).toBe(true);
    // A single small part is the last part: allowed.
    expect((await client.completeUpload(init.uploadId, [{ partNumber: 2, etag: b.etag }])).size).toBe(50);
  });

  it('abort removes the upload; later calls get STORAGE_NO_SUCH_UPLOAD', async () => {
    const { client, url } = await startStorage();
    const init = await client.initUpload({ ...target, versionId: undefined });
    expect(init.versionId).toMatch(/^v[0-9a-z]{9}-[0-9a-f]{8}$/);
    await client.uploadPart(init.uploadId, 1, bytes(10));
    expect((await client.listUploads({ userId: 'u1' })).length).toBe(1);
    expect((await client.listUploads({ userId: 'other' })).length).toBe(0);
    await client.abortUpload(init.uploadId);
    expect(await client.listUploads()).toEqual([]);
    for (const call of [
      () => client.uploadPart(init.uploadId, 2, bytes(1)),
      () => client.completeUpload(init.uploadId, [{ partNumber: 1, etag: '"x"' }]),
      () => client.abortUpload(init.uploadId),
      () => client.listParts(init.uploadId),
    ]) {
      const e = await call().catch((x) => x);
      expect(isStorageError(e, 'STORAGE_NO_SUCH_UPLOAD'), String(e)).toBe(true);
      expect(e.status).toBe(404);
    }
    const bad = await postJson(`${url}/upload/abort`, { upload_id: 'nope' });
    expect((await json(bad)).error?.code).toBe('STORAGE_INVALID_INPUT');
  });

  it('validates init: ids with slashes or .. are STORAGE_BAD_KEY, unknown fields STORAGE_INVALID_INPUT', async () => {
    const { url } = await startStorage();
    const base = { user_id: 'u', block_id: 'b', file_name: 'f.bin', content_type: 'text/plain' };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...base, user_id: 'a/b' }, 'STORAGE_BAD_KEY'],
      [{ ...base, block_id: '..' }, 'STORAGE_BAD_KEY'],
      [{ ...base, file_name: '..passwd' }, 'STORAGE_BAD_KEY'],
      [{ ...base, version_id: 'x\\y' }, 'STORAGE_BAD_KEY'],
      [{ ...base, file_name: '' }, 'STORAGE_BAD_KEY'],
      [{ ...base, extra: 1 }, 'STORAGE_INVALID_INPUT'],
      [{ ...base, content_type: 'nonsense' }, 'STORAGE_INVALID_INPUT'],
      [{ user_id: 'u' }, 'STORAGE_INVALID_INPUT'],
    ];
    for (const [body, code] of cases) {
      const res = await postJson(`${url}/upload/init`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await json(res)).error?.code, JSON.stringify(body)).toBe(code);
    }
    const notJson = await fetch(`${url}/upload/init`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: 'a',
    });
    expect(notJson.status).toBe(415);
    expect((await json(notJson)).error?.code).toBe('STORAGE_UNSUPPORTED_MEDIA_TYPE');
    const broken = await fetch(`${url}/upload/init`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{',
    });
    expect((await json(broken)).error?.code).toBe('STORAGE_INVALID_INPUT');
    const missing = await fetch(`${url}/nowhere`);
    expect(missing.status).toBe(404);
    expect((await json(missing)).error?.code).toBe('STORAGE_ROUTE_NOT_FOUND');
  });

  it('single-part objects: one PUT, ETag = quoted SHA-256 prefix, replacing keeps readers consistent', async () => {
    const { client } = await startStorage();
    const a = await client.putObject(
      { ...target, fileName: 'one.txt', contentType: 'text/plain' },
      bytes(5000, 7),
    );
    expect(a.etag).toBe(`"${digest(bytes(5000, 7)).toString('hex')}"`);
    expect(a.contentType).toBe('text/plain');
    const b = await client.putObject({ ...target, fileName: 'one.txt' }, bytes(10, 8));
    expect(b.etag).not.toBe(a.etag);
    expect(Buffer.from(await client.download(a.key))).toEqual(Buffer.from(bytes(10, 8)));
    // uploadObject splits what exceeds partSize into a multipart upload.
    const big = await client.uploadObject({ ...target, fileName: 'big.bin' }, bytes(2500, 9), {
      partSize: 1000,
    });
    expect(big.etag).toMatch(/-3"$/);
    expect(Buffer.from(await client.download(big.key))).toEqual(Buffer.from(bytes(2500, 9)));
  });
});
