// The harness providers of system.ts: the child process (default) and the in-process server.
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

  it('refuses an unknown start option before anything starts', async () => {
    const err = await startSystem(storageSystem, {
      provider: 'inprocess',
      options: { maxWatcher: 3 } as never,
    }).catch((e: Error) => e);
    expect(String(err)).toMatch(/systems\.storage\.options/);
  });
});
