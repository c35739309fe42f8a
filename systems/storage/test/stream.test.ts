// StreamProducer and StreamConsumer end to end: chunks arrive in order with their exact bytes, in
// watch and poll modes; failure, staleness, resuming and the fallback from watch to poll.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { StorageClient } from '../client/storage-client.ts';
import { type ConsumedChunk, StreamConsumer } from '../client/stream-consumer.ts';
import { StreamProducer } from '../client/stream-producer.ts';
import { isStorageError } from '../errors.ts';
import { bytes, startStorage, until } from './helpers.ts';

/** A proxy to `target` that answers 404 STORAGE_ROUTE_NOT_FOUND on the watch routes; closed after the test. */
async function withoutWatch(target: string): Promise<string> {
  const proxy = http.createServer(async (req, res) => {
    if (req.url?.startsWith('/files/watch')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'STORAGE_ROUTE_NOT_FOUND', message: 'no watch here' } }));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(
        ([k, v]) => typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k),
      ),
    ) as Record<string, string>;
    const upstream = await fetch(`${target}${req.url}`, {
      method: req.method ?? 'GET',
      headers,
      ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
    });
    const body = Buffer.from(await upstream.arrayBuffer());
    res.writeHead(
      upstream.status,
      Object.fromEntries(
        [...upstream.headers].filter(([k]) => k !== 'content-encoding' && k !== 'transfer-encoding'),
      ),
    );
    res.end(body);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  onTestFinished(() => new Promise<void>((r) => proxy.close(() => r())));
  return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}

async function collect(consumer: StreamConsumer, onChunk?: (c: ConsumedChunk) => void | Promise<void>) {
  const got: ConsumedChunk[] = [];
  for await (const c of consumer) {
    got.push(c);
    await onChunk?.(c);
  }
  return got;
}

describe.each(['watch', 'poll'] as const)('producer -> consumer (%s mode)', (mode) => {
  it('delivers every chunk in order with its bytes, while the producer is still producing', async () => {
    const { client, server } = await startStorage();
    const producer = new StreamProducer(client, {
      userId: 'u1',
      blockId: 'b1',
      versionId: 'live',
      partSize: 4096,
    });
    await producer.start();
    const payloads = Array.from({ length: 12 }, (_, i) => bytes(i === 5 ? 10_000 : 100 + i * 37, i + 1));
    const consumer = new StreamConsumer(client, {
      userId: 'u1',
      blockId: 'b1',
      versionId: 'live',
      mode,
      pollIntervalMs: 20,
      staleMs: 60_000,
    });
    // The producer appends chunk i+1 only after the consumer has received chunk i: the consumer
    // really does pick chunks up as they appear, not at the end.
    const received = collect(consumer, async (c) => {
      const next = c.index + 1;
      if (next < payloads.length) await producer.append(payloads[next] as Uint8Array);
      else await producer.finish({ chunks_total: payloads.length });
    });
    if (mode === 'watch') await until(() => server.hub.watchers === 1, 'the consumer to watch');
    await producer.append(payloads[0] as Uint8Array);
    const got = await received;
    expect(got.map((c) => c.index)).toEqual(payloads.map((_, i) => i));
    got.forEach((c, i) => {
      expect(Buffer.from(c.bytes)).toEqual(Buffer.from(payloads[i] as Uint8Array));
      expect(c.sha256).toBe(
        createHash('sha256')
          .update(payloads[i] as Uint8Array)
          .digest('hex'),
      );
    });
    expect(consumer.manifest?.status).toBe('completed');
    expect(consumer.nextIndex).toBe(payloads.length);
    expect(consumer.mode).toBe(mode);
  });

  it('throws STORAGE_STREAM_FAILED after the chunks that were published, when the producer fails', async () => {
    const { client } = await startStorage();
    const producer = new StreamProducer(client, { userId: 'u1', blockId: 'b1', versionId: 'bad' });
    await producer.append(bytes(10, 1));
    await producer.append(bytes(10, 2));
    await producer.fail('the model crashed');
    const consumer = new StreamConsumer(client, { userId: 'u1', blockId: 'b1', mode, pollIntervalMs: 20 });
    const got: number[] = [];
    const err = await collect(consumer, (c) => {
      got.push(c.index);
    }).catch((e) => e);
    expect(got).toEqual([0, 1]);
    expect(isStorageError(err, 'STORAGE_STREAM_FAILED')).toBe(true);
    expect(err.message).toContain('the model crashed');
  });

  it('times out with STORAGE_STREAM_STALE when the producer stops changing the manifest', async () => {
    const { client } = await startStorage();
    const producer = new StreamProducer(client, { userId: 'u1', blockId: 'b1', versionId: 'stale' });
    await producer.append(bytes(10));
    const consumer = new StreamConsumer(client, {
      userId: 'u1',
      blockId: 'b1',
      versionId: 'stale',
      mode,
      pollIntervalMs: 20,
      staleMs: 300,
    });
    const got: number[] = [];
    const err = await collect(consumer, (c) => {
      got.push(c.index);
    }).catch((e) => e);
    expect(got).toEqual([0]);
    expect(isStorageError(err, 'STORAGE_STREAM_STALE')).toBe(true);
  });

  it('resumes from the last index an earlier consumer saw', async () => {
    const { client } = await startStorage();
    const producer = new StreamProducer(client, { userId: 'u1', blockId: 'b1', versionId: 'resume' });
    for (let i = 0; i < 5; i++) await producer.append(bytes(20, i));
    await producer.finish();
    const first = new StreamConsumer(client, { userId: 'u1', blockId: 'b1', versionId: 'resume', mode });
    const seen: number[] = [];
    for await (const c of first) {
      seen.push(c.index);
      if (c.index === 2) break;
    }
    expect(first.nextIndex).toBe(3);
    const second = new StreamConsumer(client, {
      userId: 'u1',
      blockId: 'b1',
      versionId: 'resume',
      mode,
      fromIndex: first.nextIndex,
    });
    expect((await collect(second)).map((c) => c.index)).toEqual([3, 4]);
  });
});

describe('consumer fallbacks and checks', () => {
  it('falls back to polling when the server has no watch route', async () => {
    const { url } = await startStorage();
    // An older server without /files/watch, in front of the real one: watching gets STORAGE_ROUTE_NOT_FOUND.
    const front = await withoutWatch(url);
    const client = new StorageClient(front);
    const producer = new StreamProducer(client, { userId: 'u1', blockId: 'b1', versionId: 'fb' });
    await producer.append(bytes(10, 1));
    const consumer = new StreamConsumer(client, {
      userId: 'u1',
      blockId: 'b1',
      versionId: 'fb',
      mode: 'watch',
      pollIntervalMs: 20,
    });
    const received = collect(consumer, async (c) => {
      if (c.index === 0) {
        await producer.append(bytes(10, 2));
        await producer.finish();
      }
    });
    expect((await received).map((c) => c.index)).toEqual([0, 1]);
    expect(consumer.mode).toBe('poll');
    expect(consumer.fallbacks).toBeGreaterThan(0);
  });

  it('refuses a chunk whose bytes do not match the manifest (STORAGE_INTEGRITY_MISMATCH)', async () => {
    const { client } = await startStorage();
    const obj = await client.putObject(
      { userId: 'u1', blockId: 'b1', versionId: 'x', fileName: 'c0' },
      bytes(10),
    );
    await client.putManifest(
      { userId: 'u1', blockId: 'b1', versionId: 'x' },
      {
        status: 'completed',
        chunks: [{ name: 'c0', key: obj.key, size: 10, sha256: '0'.repeat(64), index: 0 }],
      },
      { ifNoneMatch: '*' },
    );
    const consumer = new StreamConsumer(client, { userId: 'u1', blockId: 'b1', versionId: 'x' });
    const err = await collect(consumer).catch((e) => e);
    expect(isStorageError(err, 'STORAGE_INTEGRITY_MISMATCH')).toBe(true);
  });

  it('waits for the first version to appear when none is named', async () => {
    const { client } = await startStorage();
    const consumer = new StreamConsumer(client, { userId: 'u9', blockId: 'b9', pollIntervalMs: 20 });
    const received = collect(consumer);
    const producer = new StreamProducer(client, { userId: 'u9', blockId: 'b9', publish: true });
    await producer.append(bytes(5));
    await producer.finish();
    expect((await received).length).toBe(1);
    expect(consumer.versionId).toBe(producer.versionId);
  });

  it('a client of a server that is gone gets STORAGE_HTTP_ERROR', async () => {
    const { url, close } = await startStorage();
    await close();
    const err = await new StorageClient(url).health().catch((e) => e);
    expect(isStorageError(err, 'STORAGE_HTTP_ERROR')).toBe(true);
  });
});
