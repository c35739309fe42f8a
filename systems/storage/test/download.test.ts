// Signed download URLs, byte ranges and conditional GETs, and keys that try to leave the root.
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { UrlSigner } from '../signer.ts';
import { bytes, json, listFiles, rawGet, startStorage } from './helpers.ts';

const target = { userId: 'u1', blockId: 'b1', versionId: 'v1', fileName: 'data.bin' };

async function withObject(size = 1000) {
  const running = await startStorage({ signingSecret: 'test-secret-0123456789' });
  const data = bytes(size, 5);
  const obj = await running.client.putObject(target, data);
  const { url } = await running.client.downloadUrl(obj.key, 60);
  return { ...running, data, obj, signed: url };
}

describe('signed downloads', () => {
  it('serves the whole object with validators and Accept-Ranges', async () => {
    const { signed, data, obj } = await withObject();
    expect(signed).toMatch(/\/download\/stream\/u1%2Fb1%2Fv1%2Fdata\.bin\?expires=\d+&sig=[\w-]+$/);
    const res = await fetch(signed);
    expect(res.status).toBe(200);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('etag')).toBe(obj.etag);
    expect(res.headers.get('content-length')).toBe(String(data.length));
    expect(res.headers.get('x-content-sha256')).toBe(obj.sha256);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(Buffer.from(data));
    const head = await fetch(signed, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(data.length));
    const cached = await fetch(signed, { headers: { 'if-none-match': obj.etag } });
    expect(cached.status).toBe(304);
  });

  it('refuses a tampered signature, key or expiry, and an expired URL, with 403', async () => {
    const { signed, url, client } = await withObject();
    await client.putObject({ ...target, fileName: 'other.bin' }, bytes(10));
    const u = new URL(signed);
    const variants = [
      signed.replace(/sig=[\w-]+/, 'sig=AAAA'),
      signed.replace(/sig=([\w-])/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`),
      signed.replace('data.bin', 'other.bin'),
      signed.replace(/expires=(\d+)/, (_m, e: string) => `expires=${Number(e) + 1000}`),
      `${u.origin}${u.pathname}`,
    ];
    for (const v of variants) {
      const res = await fetch(v);
      expect(res.status, v).toBe(403);
      expect((await json(res)).error?.code, v).toBe('STORAGE_FORBIDDEN');
    }
    // A correctly signed URL whose time has passed.
    const past = Math.floor(Date.now() / 1000) - 5;
    const sig = new UrlSigner('test-secret-0123456789').sign('GET', 'u1/b1/v1/data.bin', past);
    const expired = await fetch(`${url}/download/stream/u1%2Fb1%2Fv1%2Fdata.bin?expires=${past}&sig=${sig}`);
    expect(expired.status).toBe(403);
    expect((await json(expired)).error?.code).toBe('STORAGE_URL_EXPIRED');
  });

  it('bounds expires_in and refuses unknown objects', async () => {
    const { url, obj } = await withObject();
    for (const e of ['0', '604801', '-5', 'abc']) {
      const res = await fetch(`${url}/download/url?key=${encodeURIComponent(obj.key)}&expires_in=${e}`);
      expect(res.status, e).toBe(400);
      expect((await json(res)).error?.code).toBe('STORAGE_INVALID_INPUT');
    }
    const max = await fetch(`${url}/download/url?key=${encodeURIComponent(obj.key)}&expires_in=604800`);
    expect(max.status).toBe(200);
    const missing = await fetch(`${url}/download/url?key=u1%2Fb1%2Fv1%2Fnope`);
    expect(missing.status).toBe(404);
    expect((await json(missing)).error?.code).toBe('STORAGE_NOT_FOUND');
  });

  it('honours one byte range: a-b, a-, -n -> 206 + Content-Range; past the end -> 416 bytes */size', async () => {
    const { signed, data, obj } = await withObject(1000);
    const cases: Array<[string, number, number]> = [
      ['bytes=0-99', 0, 99],
      ['bytes=990-', 990, 999],
      ['bytes=-10', 990, 999],
      ['bytes=500-5000', 500, 999],
      ['bytes=-5000', 0, 999],
    ];
    for (const [range, start, end] of cases) {
      const res = await fetch(signed, { headers: { range } });
      expect(res.status, range).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/1000`);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(Buffer.from(data.subarray(start, end + 1)));
    }
    for (const range of ['bytes=1000-', 'bytes=5000-6000', 'bytes=-0']) {
      const res = await fetch(signed, { headers: { range } });
      expect(res.status, range).toBe(416);
      expect(res.headers.get('content-range')).toBe('bytes */1000');
      expect((await json(res)).error?.code).toBe('STORAGE_RANGE_NOT_SATISFIABLE');
    }
    // Ranges we do not serve are ignored (RFC 9110 allows it): the whole body.
    for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=9-3']) {
      const res = await fetch(signed, { headers: { range } });
      expect(res.status, range).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBe(1000);
    }
    // If-Range: the range only while the ETag still matches.
    const same = await fetch(signed, { headers: { range: 'bytes=0-9', 'if-range': obj.etag } });
    expect(same.status).toBe(206);
    await same.arrayBuffer();
    const changed = await fetch(signed, { headers: { range: 'bytes=0-9', 'if-range': '"other"' } });
    expect(changed.status).toBe(200);
    expect((await changed.arrayBuffer()).byteLength).toBe(1000);
  });

  it('refuses keys that escape the root with 400 STORAGE_BAD_KEY and touches nothing', async () => {
    const { url, root, client } = await withObject();
    // A file beside the root that a traversal would reach.
    const secret = path.join(path.dirname(root), `${path.basename(root)}-secret.txt`);
    await writeFile(secret, 'secret');
    onTestFinished(() => rm(secret, { force: true }));
    const before = await listFiles(root);
    const attempts = [
      '/download/stream/..%2F..%2Fsecret.txt?expires=9999999999&sig=x',
      '/download/stream/%2e%2e%2f%2e%2e%2fetc%2fpasswd?expires=9999999999&sig=x',
      '/download/stream/%2Fetc%2Fpasswd?expires=9999999999&sig=x',
      '/download/stream/u1%2F..%2F..%2F..%2Fsecret.txt?expires=9999999999&sig=x',
      '/download/stream/u1%5C..%5C..%5Csecret.txt?expires=9999999999&sig=x',
      '/download/stream/u1%2Fb1%2Fv1%2Fdata.bin%00.txt?expires=9999999999&sig=x',
      '/download/stream/%252e%252e%252fsecret.txt?expires=9999999999&sig=x',
      '/download/stream/../../secret.txt?expires=9999999999&sig=x',
      '/download/stream/u1/b1/../../../secret.txt?expires=9999999999&sig=x',
      '/download/stream/%E0%A4%A?expires=1&sig=x',
    ];
    for (const p of attempts) {
      const res = await rawGet(url, p);
      expect(res.status, p).toBe(400);
      expect(JSON.parse(res.body).error.code, p).toBe('STORAGE_BAD_KEY');
    }
    for (const key of ['../secret.txt', '/etc/passwd', 'u1/b1/v1/..', 'a\\b', 'u1/b1/v1/x%2F..']) {
      const res = await fetch(`${url}/download/url?key=${encodeURIComponent(key)}`);
      expect(res.status, key).toBe(400);
      expect((await json(res)).error?.code, key).toBe('STORAGE_BAD_KEY');
    }
    expect(await listFiles(root)).toEqual(before);
    // And the legitimate key still works.
    expect((await client.download('u1/b1/v1/data.bin')).length).toBe(1000);
  });
});
