// MockApp: refusal, reconnection with backoff and re-registration after the relay restarts.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../harness/index.ts';
import { isSpacesError } from '../errors.ts';
import { MockApp } from '../mock-app.ts';
import { onCleanup, settled, startSpaces, tempDir, until } from './helpers.ts';

describe('MockApp', () => {
  it('connect() rejects with SPACES_REGISTER_REFUSED on a wrong token', async () => {
    const run = await startSpaces();
    await run.space('a');
    const app = new MockApp({ url: run.url, spaceId: 'a', token: 'spt_wrong' });
    onCleanup(() => app.close());
    const err = await app.connect().catch((e: unknown) => e);
    expect(isSpacesError(err, 'SPACES_REGISTER_REFUSED')).toBe(true);
    expect((err as Error).message).toContain('SPACES_UNAUTHORIZED');
  });

  it('reconnects and registers again when the relay restarts on the same port and database', async () => {
    const port = await freePort();
    const dbPath = path.join(await tempDir(), 'spaces.db');
    const first = await startSpaces({ port, dbPath });
    const token = await first.space('a');
    const app = await first.app('a', token);
    expect(app.counters.registrations).toBe(1);
    await first.close();
    await until(() => !app.connected, 'the disconnect');
    const second = await startSpaces({ port, dbPath });
    await until(() => app.counters.registrations === 2, 'the re-registration');
    const id = await second.submit('a', 'after restart');
    expect(await settled(second, id)).toMatchObject({
      status: 'completed',
      result: { echo: 'after restart' },
    });
    expect(app.seen).toEqual([id]);
  });

  it('fails requests at failRate with a deterministic random source', async () => {
    const run = await startSpaces();
    const token = await run.space('a');
    const draws = [0.1, 0.9, 0.1, 0.9];
    const app = await run.app('a', token, { failRate: 0.5, random: () => draws.shift() ?? 1 });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await run.submit('a', i));
    const statuses = await Promise.all(ids.map(async (id) => (await settled(run, id)).status));
    expect(statuses).toEqual(['failed', 'completed', 'failed', 'completed']);
    expect(app.counters).toMatchObject({ received: 4, handled: 4, failed: 2, rejected: 0 });
  });
});
