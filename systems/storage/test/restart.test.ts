// Durability of the fs backend: a new server on the same root finds every manifest, object,
// pointer and unfinished upload, and no temp file or half-written object.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytes, listFiles, startStorage, tempDir } from './helpers.ts';

const ref = { userId: 'u1', blockId: 'b1', versionId: 'v1' };

describe('restart on the same root', () => {
  it('recovers manifests (with their ETags), objects, the latest pointer and unfinished uploads', async () => {
    const root = await tempDir();
    const first = await startStorage({ root });
    const obj = await first.client.putObject({ ...ref, fileName: 'a.bin' }, bytes(3000, 3));
    const multi = await first.client.uploadObject({ ...ref, fileName: 'm.bin' }, bytes(2500, 4), {
      partSize: 1000,
    });
    const created = await first.client.putManifest(
      ref,
      { status: 'generating', chunks: [] },
      { ifNoneMatch: '*' },
    );
    const { etag } = await first.client.putManifest(
      ref,
      {
        status: 'completed',
        chunks: [{ name: 'a', key: obj.key, size: 3000, sha256: obj.sha256 as string, index: 0 }],
      },
      { ifMatch: created.etag },
    );
    await first.client.publishVersion(ref);
    const pending = await first.client.initUpload({ ...ref, fileName: 'later.bin' });
    const part = await first.client.uploadPart(pending.uploadId, 1, bytes(10, 9));
    await first.close();

    // Leftovers of a crash: a temp file beside a manifest, a spooled body, a blob nothing points at.
    await writeFile(path.join(root, 'manifests', 'u1', 'b1', '.tmp-v1.json-deadbeef'), '{"half":');
    await mkdir(path.join(root, 'tmp'), { recursive: true });
    await writeFile(path.join(root, 'tmp', '.tmp-spool-1234'), 'partial');
    await writeFile(path.join(root, 'objects', 'u1', 'b1', 'v1', 'a.bin', 'blob-orphan'), 'never published');

    const second = await startStorage({ root });
    const got = await second.client.getManifest(ref);
    expect(got !== undefined && got !== 'not-modified' && got.etag).toBe(etag);
    expect(Buffer.from(await second.client.download(obj.key))).toEqual(Buffer.from(bytes(3000, 3)));
    expect(Buffer.from(await second.client.download(multi.key))).toEqual(Buffer.from(bytes(2500, 4)));
    const latest = await second.client.latestVersion('u1', 'b1');
    expect(latest !== 'not-modified' && latest.versionId).toBe('v1');
    // The unfinished upload is listed with its part and can be completed now.
    expect((await second.client.listUploads()).map((u) => u.uploadId)).toEqual([pending.uploadId]);
    expect(await second.client.listParts(pending.uploadId)).toEqual([
      { partNumber: 1, etag: part.etag, size: 10 },
    ]);
    const done = await second.client.completeUpload(pending.uploadId, [{ partNumber: 1, etag: part.etag }]);
    expect(done.size).toBe(10);
    // Conditional writes continue from the recovered ETag.
    const stale = await second.client
      .putManifest(ref, { status: 'completed', chunks: [] }, { ifMatch: created.etag })
      .catch((e: Error) => e);
    expect((stale as { code?: string }).code).toBe('STORAGE_PRECONDITION_FAILED');
    const files = await listFiles(root);
    expect(files.filter((f) => path.basename(f).startsWith('.tmp-'))).toEqual([]);
    expect(files).not.toContain(path.join('objects', 'u1', 'b1', 'v1', 'a.bin', 'blob-orphan'));
    expect(await readdir(path.join(root, 'tmp'))).toEqual([]);
  });

  it('drops uploads past their expiry at start', async () => {
    const root = await tempDir();
    const first = await startStorage({ root, uploadTtlMs: 1000 });
    const init = await first.client.initUpload({ ...ref, fileName: 'x.bin' });
    await first.close();
    const recordFile = path.join(root, 'uploads', init.uploadId, 'upload.json');
    const record = JSON.parse(await readFile(recordFile, 'utf8')) as { expiresAt: number };
    await writeFile(recordFile, JSON.stringify({ ...record, expiresAt: Date.now() - 1 }));
    const second = await startStorage({ root });
    expect(await second.client.listUploads()).toEqual([]);
    expect(await readdir(path.join(root, 'uploads'))).toEqual([]);
  });

  it('refuses a second server on a root that is in use', async () => {
    const root = await tempDir();
    await startStorage({ root });
    const err = await startStorage({ root }).catch((e: Error) => e);
    expect((err as { code?: string }).code).toBe('STORAGE_BACKEND_FAILED');
    expect((err as Error).message).toContain('already open');
  });

  it('takes over the lock a dead process left behind', async () => {
    const root = await tempDir();
    await writeFile(path.join(root, 'LOCK'), '999999999');
    const running = await startStorage({ root });
    expect(await readFile(path.join(root, 'LOCK'), 'utf8')).toBe(String(process.pid));
    await running.close();
    expect(await readdir(root)).not.toContain('LOCK');
  });
});
