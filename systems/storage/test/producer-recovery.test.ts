// StreamProducer across outages: a start that failed is tried again, a create or finish whose
// answer was lost is recognised as done (adopted, or treated as success) instead of failing forever.
import { describe, expect, it } from 'vitest';
import { StorageClient } from '../client/storage-client.ts';
import { StreamProducer } from '../client/stream-producer.ts';
import { isStorageError, StorageError } from '../errors.ts';
import { bytes, startStorage, tempDir } from './helpers.ts';

const ref = { userId: 'u1', blockId: 'b1' };

/** Makes the next `putManifest` of `client` land on the server but lose its answer. */
function loseNextManifestAnswer(client: StorageClient): void {
  const put = client.putManifest.bind(client);
  client.putManifest = async (...args: Parameters<StorageClient['putManifest']>) => {
    client.putManifest = put;
    await put(...args);
    throw new StorageError('STORAGE_HTTP_ERROR', 'connection reset before the answer (test)');
  };
}

async function manifestOf(client: StorageClient, versionId: string) {
  const got = await client.getManifest({ ...ref, versionId });
  if (got === undefined || got === 'not-modified') throw new Error(`no manifest ${versionId}`);
  return got.manifest;
}

describe('StreamProducer recovery', () => {
  it('a first append while the server is down rejects; once it is up again on the same root and port, append succeeds', async () => {
    const root = await tempDir();
    const first = await startStorage({ root });
    const port = Number(new URL(first.url).port);
    await first.close();
    const client = new StorageClient({ baseUrl: first.url, timeoutMs: 5_000 });
    const producer = new StreamProducer(client, { ...ref, versionId: 'down-first' });
    const e = await producer.append(bytes(10, 1)).catch((x: unknown) => x);
    expect(isStorageError(e, 'STORAGE_HTTP_ERROR')).toBe(true);

    const again = await startStorage({ root, port });
    const chunk = await producer.append(bytes(10, 2));
    expect(chunk.index).toBe(0);
    await producer.finish();
    const m = await manifestOf(again.client, 'down-first');
    expect(m.status).toBe('completed');
    expect(m.chunks.map((c) => c.key)).toEqual([chunk.key]);
  });

  it('a create that landed unanswered is adopted on the retry, even with onExisting: error', async () => {
    const { client } = await startStorage();
    const producer = new StreamProducer(client, { ...ref, versionId: 'lost-create', onExisting: 'error' });
    loseNextManifestAnswer(client);
    await expect(producer.start()).rejects.toMatchObject({ code: 'STORAGE_HTTP_ERROR' });
    const chunk = await producer.append(bytes(5, 3));
    expect(chunk.index).toBe(0);
    await producer.finish();
    expect((await manifestOf(client, 'lost-create')).status).toBe('completed');
  });

  it('finish() and fail() are idempotent: a retry after one that landed unanswered succeeds', async () => {
    const { client } = await startStorage();
    const producer = new StreamProducer(client, { ...ref, versionId: 'lost-finish' });
    await producer.append(bytes(5, 4));
    loseNextManifestAnswer(client);
    await expect(producer.finish()).rejects.toMatchObject({ code: 'STORAGE_HTTP_ERROR' });
    const etag = await producer.finish();
    const now = await client.getManifest({ ...ref, versionId: 'lost-finish' });
    expect(now !== undefined && now !== 'not-modified' && now.etag).toBe(etag);
    // a fresh producer joining the completed stream (the crash suite's retry) also succeeds
    await new StreamProducer(client, { ...ref, versionId: 'lost-finish' }).finish();
    // but a finished stream cannot be failed, nor a failed one finished
    const e = await producer.fail('late').catch((x: unknown) => x);
    expect(isStorageError(e, 'STORAGE_MANIFEST_NOT_APPENDABLE')).toBe(true);

    const failing = new StreamProducer(client, { ...ref, versionId: 'lost-fail' });
    loseNextManifestAnswer(client);
    await expect(failing.fail('boom')).rejects.toMatchObject({ code: 'STORAGE_HTTP_ERROR' });
    await failing.fail('boom');
    expect((await manifestOf(client, 'lost-fail')).status).toBe('failed');
    await expect(failing.finish()).rejects.toMatchObject({ code: 'STORAGE_MANIFEST_NOT_APPENDABLE' });
  });
});
