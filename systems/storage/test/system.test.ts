// The harness providers of system.ts: the child process (default) and the in-process server.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, startSystem } from '../../../harness/index.ts';
import { StorageClient } from '../client/storage-client.ts';
import { StreamConsumer } from '../client/stream-consumer.ts';
import { StreamProducer } from '../client/stream-producer.ts';
import { storageSystem } from '../index.ts';

async function roundTrip(endpoint: string): Promise<string[]> {
  const client = new StorageClient(endpoint);
  const producer = new StreamProducer(client, { userId: 'u', blockId: 'b' });
  await producer.append(new TextEncoder().encode('hello'));
  await producer.append(new TextEncoder().encode('world'));
  await producer.finish();
  const out: string[] = [];
  for await (const c of new StreamConsumer(client, {
    userId: 'u',
    blockId: 'b',
    versionId: producer.versionId,
  })) {
    out.push(Buffer.from(c.bytes).toString());
  }
  return out;
}

describe('storage system providers', () => {
  it('process: serves on the requested port over a root inside the start temp dir', async () => {
    const port = await freePort();
    const sys = await startSystem(storageSystem, { provider: 'process', port, options: { maxWatchers: 7 } });
    try {
      expect(sys.pid).toBeGreaterThan(0);
      expect(sys.endpoint).toBe(`http://127.0.0.1:${port}`);
      expect(await roundTrip(sys.endpoint)).toEqual(['hello', 'world']);
    } finally {
      const stopped = await sys.stop();
      expect(stopped.logs).toContain(`listening on http://127.0.0.1:${port}`);
      expect(stopped.logs).toContain('SIGTERM: closing');
    }
  });

  it('inprocess: the same service in the test process, options applied', async () => {
    const sys = await startSystem(storageSystem, { provider: 'inprocess', options: { maxWatchers: 3 } });
    try {
      expect(sys.api.config.maxWatchers).toBe(3);
      expect(await roundTrip(sys.endpoint)).toEqual(['hello', 'world']);
    } finally {
      await sys.stop();
    }
  });

  it('root: a restart on the same root (process, then inprocess) keeps the data, and the root stays', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'rig-storage-root-'));
    try {
      const first = await startSystem(storageSystem, { provider: 'process', options: { root } });
      try {
        expect(await roundTrip(first.endpoint)).toEqual(['hello', 'world']);
      } finally {
        await first.stop();
      }
      expect(await readdir(root)).toContain('manifests');
      const again = await startSystem(storageSystem, { provider: 'inprocess', options: { root } });
      try {
        const versions = await new StorageClient(again.endpoint).versions('u', 'b');
        expect(versions.versions.map((v) => v.status)).toEqual(['completed']);
      } finally {
        await again.stop();
      }
      expect(await readdir(root)).toContain('manifests');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses an unknown start option before anything starts', async () => {
    const err = await startSystem(storageSystem, {
      provider: 'inprocess',
      options: { maxWatcher: 3 } as never,
    }).catch((e: Error) => e);
    expect(String(err)).toMatch(/systems\.storage\.options/);
  });
});
