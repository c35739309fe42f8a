// Hostile and malformed requests to the storage service, sent as raw HTTP (paths exactly as written,
// no client-side normalisation): path traversal in download keys and in ids, oversize parts, part
// numbers out of range, bad multipart completions, malformed manifests, tampered and expired
// signatures, manifest writes without preconditions. Each must get a clear 4xx with its stable
// error code, and nothing may be written: uploads, objects and manifests are checked afterwards.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useSystem } from '../../harness/index.ts';
import { type Manifest, StorageClient, storageSystem } from '../../systems/storage/index.ts';
import { Expectations, json, rawRequest } from '../_helpers/raw-http.ts';
import { KiB, MiB, payload, runId, sleep } from '../_helpers/storage-workload.ts';

const MAX_PART = MiB;
const system = useSystem(storageSystem, {
  options: { maxPartBytes: MAX_PART, minPartBytes: 0, maxManifestBytes: 4 * KiB },
});
const client = () => new StorageClient(system().endpoint);
const user = runId('sec');
/** A file name that, were any traversal honoured, would land in this machine's tmp dir. */
const marker = `rig-storage-escape-${process.pid}-${Date.now()}`;
const send = (method: string, rawPath: string, o: Parameters<typeof rawRequest>[3] = {}) =>
  rawRequest(system().endpoint, method, rawPath, o);

const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

/** Traversal and smuggling attempts for one id or file name. */
const BAD_IDS = [
  '..',
  '.',
  '../..',
  `../../../../../../${marker}`,
  '/etc/passwd',
  `${tmpdir()}/${marker}`,
  '%2e%2e',
  '%2E%2E%2F%2E%2E',
  'a%2fb',
  'a/b',
  'a\\b',
  '..\\..\\windows',
  'C:\\windows',
  'a\u0000b',
  '',
];

const legit = { userId: user, blockId: 'blk', versionId: 'v1', fileName: 'ok.bin' };
const legitKey = `${legit.userId}/${legit.blockId}/${legit.versionId}/${legit.fileName}`;
const legitBytes = payload(3000);
let signed: URL;
let shortLived: { url: URL; expiresAt: number };

async function uploadsNow(): Promise<string> {
  const a = await send('GET', '/upload/list');
  expect(a.status).toBe(200);
  return a.text;
}

async function versionsNow(userId: string, blockId: string): Promise<string> {
  const a = await send('GET', `/files/versions?${q({ user_id: userId, block_id: blockId })}`);
  return `${a.status} ${a.text}`;
}

describe('storage bad input', () => {
  beforeAll(async () => {
    const c = client();
    await c.putObject(legit, legitBytes);
    await c.putObject({ ...legit, fileName: 'other.bin' }, payload(10));
    signed = new URL((await c.downloadUrl(legitKey, 600)).url);
    const s = await c.downloadUrl(legitKey, 1);
    shortLived = { url: new URL(s.url), expiresAt: Date.parse(s.expiresAt) };
  });

  it('path traversal in a download key: 400 STORAGE_BAD_KEY on the signed route and on /download/url', async () => {
    const e = new Expectations();
    const query = signed.search; // a real signature: the key is refused before it is looked at
    const streamPaths = [
      '../../etc/passwd',
      `..%2F..%2F..%2F..%2F${marker}`,
      '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '%2Fetc%2Fpasswd',
      '/etc/passwd',
      `${encodeURIComponent(`${user}/blk/v1/`)}..%2F..%2F..%2F..%2Fetc%2Fpasswd`,
      `${encodeURIComponent(`${user}/blk/v1/`)}%252e%252e`,
      `${encodeURIComponent(`${user}/blk/`)}..%2Fok.bin`,
      `${encodeURIComponent(`${user}/blk/v1/`)}..%5C..%5Cetc%5Cpasswd`,
      `${encodeURIComponent(`${user}/blk/v1/`)}ok.bin\\..\\..\\x`,
      `${encodeURIComponent(`${user}/blk/v1/`)}ok.bin%00.txt`,
      'C%3A%5Cwindows%5Cwin.ini',
      '%ZZ',
    ];
    for (const p of streamPaths) {
      e.check(
        `GET /download/stream/${p}`,
        await send('GET', `/download/stream/${p}${query}`),
        400,
        'STORAGE_BAD_KEY',
      );
    }
    const keys = [
      '../../etc/passwd',
      '/etc/passwd',
      `${user}/blk/v1/..`,
      `${user}/blk/v1/../../../../${marker}`,
      `${user}/blk/../ok.bin`,
      `${user}/blk/v1/%2e%2e`,
      `${user}/blk/v1/a%2fb`,
      `${user}/blk/v1/a\\b`,
      `${user}/blk/v1/a\u0000b`,
      `${user}/blk/v1/ok.bin/extra`,
      `${tmpdir()}/${marker}`,
    ];
    for (const key of keys) {
      e.check(
        `GET /download/url?key=${JSON.stringify(key)}`,
        await send('GET', `/download/url?${q({ key })}`),
        400,
        'STORAGE_BAD_KEY',
      );
    }
    expect(e.wrong).toEqual([]);
    // the legitimate URL still serves the object
    expect(Buffer.from(await client().download(legitKey))).toEqual(Buffer.from(legitBytes));
  });

  it('path traversal in init, object and manifest ids: 400 STORAGE_BAD_KEY and nothing written', async () => {
    const e = new Expectations();
    const uploadsBefore = await uploadsNow();
    const versionsBefore = await versionsNow(user, 'blk');
    const fields = ['user_id', 'block_id', 'version_id', 'file_name'] as const;
    const good = { user_id: user, block_id: 'blk', version_id: 'v1', file_name: 'new.bin' };
    for (const field of fields) {
      for (const bad of BAD_IDS) {
        const ids = { ...good, [field]: bad };
        const what = `${field}=${JSON.stringify(bad)}`;
        const expected = 'STORAGE_BAD_KEY';
        e.check(`POST /upload/init ${what}`, await send('POST', '/upload/init', json(ids)), 400, expected);
        e.check(
          `PUT /upload/object ${what}`,
          await send('PUT', `/upload/object?${q(ids)}`, {
            headers: { 'content-type': 'application/octet-stream' },
            body: 'payload that must not be stored',
          }),
          400,
          expected,
        );
        if (field !== 'file_name') {
          const { file_name: _, ...ref } = ids;
          e.check(
            `PUT /upload/manifest ${what}`,
            await send(
              'PUT',
              `/upload/manifest?${q(ref)}`,
              json({ status: 'generating', chunks: [] }, { 'if-none-match': '*' }),
            ),
            400,
            expected,
          );
        }
      }
    }
    expect(e.wrong).toEqual([]);
    expect(await uploadsNow()).toBe(uploadsBefore);
    expect(await versionsNow(user, 'blk')).toBe(versionsBefore);
    expect((await send('GET', `/download/url?${q({ key: `${user}/blk/v1/new.bin` })}`)).code).toBe(
      'STORAGE_NOT_FOUND',
    );
    expect(existsSync(path.join(tmpdir(), marker)), `${marker} written outside the storage root`).toBe(false);
  });

  it('an oversize part or object: 413 STORAGE_PART_TOO_LARGE, with or without Content-Length, and nothing stored', async () => {
    const c = client();
    const init = await c.initUpload({ userId: user, blockId: 'big', versionId: 'v1', fileName: 'big.bin' });
    const over = payload(MAX_PART + 1);
    const e = new Expectations();
    const part = `/upload/chunk/${init.uploadId}/1`;
    const binary = { 'content-type': 'application/octet-stream' };
    e.check(
      'part with Content-Length',
      await send('PUT', part, { headers: binary, body: over }),
      413,
      'STORAGE_PART_TOO_LARGE',
    );
    e.check(
      'part chunked',
      await send('PUT', part, { headers: binary, body: over, chunked: true }),
      413,
      'STORAGE_PART_TOO_LARGE',
    );
    const objectPath = `/upload/object?${q({ user_id: user, block_id: 'big', version_id: 'v1', file_name: 'single.bin' })}`;
    e.check(
      'object with Content-Length',
      await send('PUT', objectPath, { headers: binary, body: over }),
      413,
      'STORAGE_PART_TOO_LARGE',
    );
    e.check(
      'object chunked',
      await send('PUT', objectPath, { headers: binary, body: over, chunked: true }),
      413,
      'STORAGE_PART_TOO_LARGE',
    );
    expect(e.wrong).toEqual([]);
    expect(await c.listParts(init.uploadId)).toEqual([]);
    const missing = await send('GET', `/download/url?${q({ key: `${user}/big/v1/single.bin` })}`);
    expect([missing.status, missing.code]).toEqual([404, 'STORAGE_NOT_FOUND']);
    // exactly the limit is accepted
    const atLimit = await c.uploadPart(init.uploadId, 1, over.subarray(0, MAX_PART));
    expect(atLimit.size).toBe(MAX_PART);
    await c.abortUpload(init.uploadId);
  });

  it('part numbers 0, 10001 and -1: 400 STORAGE_INVALID_PART_NUMBER and no part stored', async () => {
    const c = client();
    const init = await c.initUpload({ userId: user, blockId: 'parts', versionId: 'v1', fileName: 'p.bin' });
    const e = new Expectations();
    for (const n of ['0', '10001', '-1', '99999999999999999999']) {
      e.check(
        `part ${n}`,
        await send('PUT', `/upload/chunk/${init.uploadId}/${n}`, {
          headers: { 'content-type': 'application/octet-stream' },
          body: 'x',
        }),
        400,
        'STORAGE_INVALID_PART_NUMBER',
      );
    }
    for (const n of ['1.5', 'one']) {
      e.check(
        `part ${n}`,
        await send('PUT', `/upload/chunk/${init.uploadId}/${n}`, { body: 'x' }),
        400,
        'STORAGE_INVALID_INPUT',
      );
    }
    expect(e.wrong).toEqual([]);
    expect(await c.listParts(init.uploadId)).toEqual([]);
    // the bounds themselves are parts
    await c.uploadPart(init.uploadId, 1, payload(1));
    await c.uploadPart(init.uploadId, 10_000, payload(1));
    expect((await c.listParts(init.uploadId)).map((p) => p.partNumber)).toEqual([1, 10_000]);
    await c.abortUpload(init.uploadId);
  });

  it('complete with a wrong ETag or parts out of order: 400 and no object, the upload still completable', async () => {
    const c = client();
    const target = { userId: user, blockId: 'complete', versionId: 'v1', fileName: 'c.bin' };
    const init = await c.initUpload(target);
    const bodies = [payload(1000), payload(1000), payload(10)];
    const parts = [];
    for (const [i, b] of bodies.entries()) parts.push(await c.uploadPart(init.uploadId, i + 1, b));
    const wire = (list: Array<{ partNumber: number; etag: string }>) =>
      json({
        upload_id: init.uploadId,
        parts: list.map((p) => ({ part_number: p.partNumber, etag: p.etag })),
      });
    const [p1, p2, p3] = parts as [(typeof parts)[0], (typeof parts)[0], (typeof parts)[0]];
    const wrongEtag = `"${'0'.repeat(32)}"`;
    const e = new Expectations();
    const complete = (list: Array<{ partNumber: number; etag: string }>) =>
      send('POST', '/upload/complete', wire(list));
    e.check('wrong ETag', await complete([p1, { ...p2, etag: wrongEtag }, p3]), 400, 'STORAGE_INVALID_PART');
    e.check(
      'ETag of another part',
      await complete([p1, { ...p2, etag: p3.etag }, p3]),
      400,
      'STORAGE_INVALID_PART',
    );
    e.check(
      'a part never uploaded',
      await complete([p1, p2, p3, { partNumber: 4, etag: p3.etag }]),
      400,
      'STORAGE_INVALID_PART',
    );
    e.check('out of order', await complete([p2, p1, p3]), 400, 'STORAGE_INVALID_PART_ORDER');
    e.check('repeated part', await complete([p1, p1, p2, p3]), 400, 'STORAGE_INVALID_PART_ORDER');
    e.check('no parts', await complete([]), 400, 'STORAGE_INVALID_PART_ORDER');
    e.check(
      'unknown upload',
      await send('POST', '/upload/complete', json({ upload_id: 'f'.repeat(32), parts: [] })),
      404,
      'STORAGE_NO_SUCH_UPLOAD',
    );
    expect(e.wrong).toEqual([]);
    const key = `${user}/complete/v1/c.bin`;
    expect((await send('GET', `/download/url?${q({ key })}`)).code).toBe('STORAGE_NOT_FOUND');
    expect((await c.listParts(init.uploadId)).map((p) => p.etag)).toEqual(parts.map((p) => p.etag));
    const done = await c.completeUpload(init.uploadId, parts);
    expect(done.size).toBe(2010);
    expect(Buffer.from(await c.download(key))).toEqual(Buffer.concat(bodies));
  });

  it('malformed or invalid manifests: 400 (415 for another media type) and nothing written', async () => {
    const ref = { user_id: user, block_id: 'manifest', version_id: 'v1' };
    const at = `/upload/manifest?${q(ref)}`;
    const create = { 'if-none-match': '*' };
    const chunk = { name: 'c0', key: `${user}/manifest/v1/c0`, size: 1, sha256: 'a'.repeat(64), index: 0 };
    const e = new Expectations();
    e.check(
      'truncated JSON',
      await send('PUT', at, json('{"status":"generating","chunks":[', create)),
      400,
      'STORAGE_INVALID_INPUT',
    );
    e.check(
      'not JSON',
      await send('PUT', at, json('status=generating', create)),
      400,
      'STORAGE_INVALID_INPUT',
    );
    e.check('empty body', await send('PUT', at, json('', create)), 400, 'STORAGE_INVALID_INPUT');
    const invalid: Array<[string, unknown]> = [
      ['a JSON array', []],
      ['unknown status', { status: 'done', chunks: [] }],
      ['no chunks', { status: 'generating' }],
      ['chunk indexes with a gap', { status: 'generating', chunks: [{ ...chunk, index: 1 }] }],
      ['a short sha256', { status: 'generating', chunks: [{ ...chunk, sha256: 'abc' }] }],
      ['a negative size', { status: 'generating', chunks: [{ ...chunk, size: -1 }] }],
      ['a traversal chunk key', { status: 'generating', chunks: [{ ...chunk, key: '../../../etc/passwd' }] }],
    ];
    for (const [what, body] of invalid) {
      e.check(what, await send('PUT', at, json(body, create)), 400, 'STORAGE_MANIFEST_INVALID');
    }
    e.check(
      'application/xml',
      await send('PUT', at, {
        headers: { 'content-type': 'application/xml', ...create },
        body: '<manifest/>',
      }),
      415,
      'STORAGE_UNSUPPORTED_MEDIA_TYPE',
    );
    const big = { status: 'generating', chunks: [], pad: 'x'.repeat(5 * KiB) };
    e.check(
      'over maxManifestBytes',
      await send('PUT', at, json(big, create)),
      413,
      'STORAGE_MANIFEST_TOO_LARGE',
    );
    expect(e.wrong).toEqual([]);
    const none = await send('GET', at);
    expect([none.status, none.code]).toEqual([404, 'STORAGE_NOT_FOUND']);
    // an existing manifest is left as it was by a malformed update
    const c = client();
    const mref = { userId: user, blockId: 'manifest', versionId: 'v1' };
    const { etag } = await c.putManifest(mref, { status: 'generating', chunks: [] }, { ifNoneMatch: '*' });
    const bad = await send('PUT', at, json('{"status":', { 'if-match': etag }));
    expect([bad.status, bad.code]).toEqual([400, 'STORAGE_INVALID_INPUT']);
    const after = await c.getManifest(mref);
    expect(after !== undefined && after !== 'not-modified' && after.etag).toBe(etag);
  });

  it('tampered and expired signatures: 403 STORAGE_FORBIDDEN / STORAGE_URL_EXPIRED', async () => {
    const e = new Expectations();
    const sig = signed.searchParams.get('sig')!;
    const expires = signed.searchParams.get('expires')!;
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const at = (key: string, params: Record<string, string>) =>
      `/download/stream/${encodeURIComponent(key)}?${q(params)}`;
    const cases: Array<[string, string]> = [
      ['signature with one character changed', at(legitKey, { expires, sig: flip(sig, 5) })],
      ['signature truncated', at(legitKey, { expires, sig: sig.slice(0, -2) })],
      ['no signature', at(legitKey, { expires })],
      ['no expiry', at(legitKey, { sig })],
      ['no query at all', `/download/stream/${encodeURIComponent(legitKey)}`],
      ['expiry moved later', at(legitKey, { expires: String(Number(expires) + 3600), sig })],
      ['expiry not a number', at(legitKey, { expires: 'soon', sig })],
      ['signature of another key', at(`${user}/blk/v1/other.bin`, { expires, sig })],
    ];
    for (const [what, p] of cases) e.check(what, await send('GET', p), 403, 'STORAGE_FORBIDDEN');
    const wait = shortLived.expiresAt + 1100 - Date.now();
    if (wait > 0) await sleep(wait);
    e.check(
      'expired URL',
      await send('GET', `${shortLived.url.pathname}${shortLived.url.search}`),
      403,
      'STORAGE_URL_EXPIRED',
    );
    expect(e.wrong).toEqual([]);
    const ok = await send('GET', `${signed.pathname}${signed.search}`, { headers: { range: 'bytes=10-19' } });
    expect(ok.status).toBe(206);
    const past = await send('GET', `${signed.pathname}${signed.search}`, {
      headers: { range: 'bytes=5000-' },
    });
    expect([past.status, past.code, past.headers['content-range']]).toEqual([
      416,
      'STORAGE_RANGE_NOT_SATISFIABLE',
      `bytes */${legitBytes.length}`,
    ]);
  });

  it('manifest writes without a precondition: 428; stale or wrong preconditions: 412; nothing changed', async () => {
    const c = client();
    const ref = { userId: user, blockId: 'cas', versionId: 'v1' };
    const at = `/upload/manifest?${q({ user_id: ref.userId, block_id: ref.blockId, version_id: ref.versionId })}`;
    const body: Manifest = { status: 'generating', chunks: [] };
    const e = new Expectations();
    e.check(
      'create without If-None-Match',
      await send('PUT', at, json(body)),
      428,
      'STORAGE_PRECONDITION_REQUIRED',
    );
    e.check(
      'If-Match on no manifest',
      await send('PUT', at, json(body, { 'if-match': '"abc"' })),
      412,
      'STORAGE_PRECONDITION_FAILED',
    );
    expect((await send('GET', at)).code).toBe('STORAGE_NOT_FOUND');
    const { etag } = await c.putManifest(ref, body, { ifNoneMatch: '*' });
    const { etag: current } = await c.putManifest(ref, { ...body, step: 1 }, { ifMatch: etag });
    const update = { ...body, step: 2 };
    e.check(
      'update without If-Match',
      await send('PUT', at, json(update)),
      428,
      'STORAGE_PRECONDITION_REQUIRED',
    );
    e.check(
      'stale If-Match',
      await send('PUT', at, json(update, { 'if-match': etag })),
      412,
      'STORAGE_PRECONDITION_FAILED',
    );
    e.check(
      'weak If-Match',
      await send('PUT', at, json(update, { 'if-match': `W/${current}` })),
      412,
      'STORAGE_PRECONDITION_FAILED',
    );
    e.check(
      'If-None-Match: * on an existing manifest',
      await send('PUT', at, json(update, { 'if-none-match': '*' })),
      412,
      'STORAGE_PRECONDITION_FAILED',
    );
    e.check(
      'If-None-Match with a tag',
      await send('PUT', at, json(update, { 'if-none-match': current })),
      400,
      'STORAGE_INVALID_INPUT',
    );
    expect(e.wrong).toEqual([]);
    const got = await c.getManifest(ref);
    expect(got !== undefined && got !== 'not-modified' && [got.etag, got.manifest.step]).toEqual([
      current,
      1,
    ]);
  });
});
