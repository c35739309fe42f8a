// The s3 backend against a real MinIO (testcontainers), never a mock: multipart uploads, the
// conditional manifest writes S3 itself arbitrates, presigned downloads, and a producer/consumer
// stream. Skipped, with the reason stated, where no Docker engine answers.
import { createHash } from 'node:crypto';
import type { StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dockerUnavailableReason } from '../../../harness/index.ts';
import { S3Backend } from '../backends/s3-backend.ts';
import { StreamConsumer } from '../client/stream-consumer.ts';
import { StreamProducer } from '../client/stream-producer.ts';
import { loadConfig } from '../config.ts';
import { isStorageError } from '../errors.ts';
import { createStorageServer } from '../server.ts';
import { bytes, putJson, type Running, startStorage } from './helpers.ts';

/** MinIO checks preconditions on CompleteMultipartUpload since May 2024; older tags answer 304 to If-None-Match. */
const MINIO_IMAGE = process.env.STORAGE_TEST_MINIO_IMAGE ?? 'minio/minio:RELEASE.2025-04-22T22-12-26Z';

let skipReason: string | undefined;
let container: StartedTestContainer | undefined;
let endpoint = '';

beforeAll(async () => {
  skipReason = await dockerUnavailableReason();
  if (skipReason) return;
  const { GenericContainer, Wait } = await import('testcontainers');
  container = await new GenericContainer(MINIO_IMAGE)
    .withExposedPorts(9000, 9001)
    .withEnvironment({ MINIO_ROOT_USER: 'minioadmin', MINIO_ROOT_PASSWORD: 'minioadmin' })
    .withCommand(['server', '--console-address', ':9001', '/data'])
    .withWaitStrategy(Wait.forHttp('/minio/health/live', 9000))
    .start();
  endpoint = `http://${container.getHost()}:${container.getMappedPort(9000)}`;
}, 300_000);

afterAll(async () => {
  await container?.stop();
});

let bucketSeq = 0;
function startS3(): Promise<Running> {
  return startStorage({
    backend: 's3',
    minPartBytes: 5 * 1024 * 1024,
    s3: {
      endpoint,
      region: 'us-east-1',
      bucket: `rig-storage-${Date.now().toString(36)}-${bucketSeq++}`,
      accessKeyId: 'minioadmin',
      secretAccessKey: 'minioadmin',
      forcePathStyle: true,
    },
  });
}

const ref = { userId: 'u1', blockId: 'b1', versionId: 'v1' };

describe('s3 backend on MinIO', () => {
  beforeEach((ctx) => {
    if (skipReason) ctx.skip(`s3 backend needs MinIO in Docker: ${skipReason}`);
  });

  it('real multipart upload, parts out of order, S3 multipart ETag, presigned ranged download', async () => {
    const { client } = await startS3();
    const parts = [bytes(5 * 1024 * 1024, 1), bytes(1000, 2)];
    const init = await client.initUpload({ ...ref, fileName: 'big.bin' });
    const second = await client.uploadPart(init.uploadId, 2, parts[1] as Uint8Array);
    const first = await client.uploadPart(init.uploadId, 1, parts[0] as Uint8Array);
    expect((await client.listUploads()).map((u) => u.uploadId)).toEqual([init.uploadId]);
    const wrong = await client
      .completeUpload(init.uploadId, [
        { partNumber: 1, etag: second.etag },
        { partNumber: 2, etag: second.etag },
      ])
      .catch((e) => e);
    expect(isStorageError(wrong, 'STORAGE_INVALID_PART')).toBe(true);
    const done = await client.completeUpload(init.uploadId, [
      { partNumber: 1, etag: first.etag },
      { partNumber: 2, etag: second.etag },
    ]);
    const md5s = parts.map((p) => createHash('md5').update(p).digest());
    expect(done.etag).toBe(`"${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-2"`);
    const { url } = await client.downloadUrl(done.key, 60);
    expect(url.startsWith(endpoint)).toBe(true);
    const ranged = await fetch(url, { headers: { range: 'bytes=-1000' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer())).toEqual(Buffer.from(parts[1] as Uint8Array));
    expect(await client.listUploads()).toEqual([]);
  });

  it('S3 arbitrates racing manifest writers: one creator wins, a stale If-Match gets 412', async () => {
    const { client, url } = await startS3();
    const q = 'user_id=u1&block_id=b1&version_id=v1';
    const answers = await Promise.all(
      ['a', 'b'].map((w) =>
        putJson(
          `${url}/upload/manifest?${q}`,
          { status: 'generating', chunks: [], w },
          { 'if-none-match': '*' },
        ),
      ),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([201, 412]);
    const etag = (answers.find((r) => r.status === 201) as Response).headers.get('etag') as string;
    const next = await client.putManifest(ref, { status: 'generating', chunks: [], n: 1 }, { ifMatch: etag });
    const stale = await client
      .putManifest(ref, { status: 'generating', chunks: [], n: 2 }, { ifMatch: etag })
      .catch((e) => e);
    expect(isStorageError(stale, 'STORAGE_PRECONDITION_FAILED')).toBe(true);
    const got = await client.getManifest(ref);
    expect(got !== undefined && got !== 'not-modified' && got.etag).toBe(next.etag);
  });

  it('concurrent appenders and a watching consumer over S3', async () => {
    const { client } = await startS3();
    const producers = Array.from(
      { length: 5 },
      () => new StreamProducer(client, { ...ref, maxRetries: 500 }),
    );
    await Promise.all(producers.map((p) => p.start()));
    const consumer = new StreamConsumer(client, { ...ref, mode: 'watch', staleMs: 60_000 });
    const received = (async () => {
      const got: string[] = [];
      for await (const c of consumer) got.push(Buffer.from(c.bytes).toString());
      return got;
    })();
    await Promise.all(producers.map((p, i) => p.append(new TextEncoder().encode(`from ${i}`))));
    await producers[0]?.finish();
    expect((await received).sort()).toEqual(['from 0', 'from 1', 'from 2', 'from 3', 'from 4']);
  });
});

describe('s3 backend without a reachable endpoint', () => {
  it('fails to start with STORAGE_BACKEND_FAILED naming the bucket, and leaves no temp root behind', async () => {
    const err = await createStorageServer(
      {
        port: 0,
        backend: 's3',
        s3: { endpoint: 'http://127.0.0.1:9', bucket: 'unreachable', accessKeyId: 'k', secretAccessKey: 's' },
      },
      { env: {} },
    ).catch((e) => e);
    expect(isStorageError(err, 'STORAGE_BACKEND_FAILED'), String(err)).toBe(true);
    expect(err.message).toContain('bucket unreachable');
  });

  it('presigns a GET without talking to S3: SigV4 query, the key under objects/, the expiry asked for', async () => {
    const backend = new S3Backend(
      loadConfig(
        {
          backend: 's3',
          s3: { endpoint: 'http://127.0.0.1:9', bucket: 'bucket1', accessKeyId: 'k', secretAccessKey: 's' },
        },
        {},
      ),
      '/nonexistent-spool',
    );
    const url = new URL(await backend.presignGet('u/b/v/f.bin', 120));
    expect(url.pathname).toBe('/bucket1/objects/u/b/v/f.bin');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('120');
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    await backend.close();
  });
});
