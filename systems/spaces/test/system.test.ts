// The harness providers: the relay as a child process and in-process, a restart on a kept database,
// and the spaces-mock-app system (child process and in-process) answering through it.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, startSystem } from '../../../harness/index.ts';
import { spacesMockAppSystem } from '../../spaces-mock-app/index.ts';
import { spacesSystem } from '../index.ts';
import { ADMIN, postJson, tempDir, until } from './helpers.ts';

async function createSpace(endpoint: string, id: string): Promise<string> {
  const res = await fetch(`${endpoint}/admin/spaces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ space_id: id }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { app_token: string }).app_token;
}

async function roundTrip(
  endpoint: string,
  spaceId: string,
  input: unknown,
): Promise<Record<string, unknown>> {
  const res = await postJson(`${endpoint}/websockets/submit`, { space_id: spaceId, input });
  const { request_id } = (await res.json()) as { request_id: string };
  let last: Record<string, unknown> = {};
  await until(async () => {
    last = (await (await fetch(`${endpoint}/websockets/status?request_id=${request_id}`)).json()) as Record<
      string,
      unknown
    >;
    return last.status === 'completed';
  }, 'the round trip');
  return last;
}

describe('spaces system providers', () => {
  it('process: serves on the requested port; the mock app system (process) answers through it', async () => {
    const port = await freePort();
    const relay = await startSystem(spacesSystem, {
      provider: 'process',
      port,
      options: { adminToken: ADMIN },
    });
    try {
      expect(relay.endpoint).toBe(`http://127.0.0.1:${port}`);
      const token = await createSpace(relay.endpoint, 'demo');
      const app = await startSystem(spacesMockAppSystem, {
        provider: 'process',
        options: { url: relay.endpoint, space: 'demo', token, delayMs: 1 },
      });
      try {
        expect(await roundTrip(relay.endpoint, 'demo', 'ping')).toMatchObject({ result: { echo: 'ping' } });
        const stats = (await (await fetch(`${app.endpoint}/stats`)).json()) as Record<string, unknown>;
        expect(stats).toMatchObject({ registered: true, handled: 1 });
      } finally {
        const stopped = await app.stop();
        expect(stopped.logs).toContain('registered for demo');
      }
    } finally {
      const stopped = await relay.stop();
      expect(stopped.logs).toContain(`listening on http://127.0.0.1:${port}`);
      expect(stopped.logs).toContain('SIGTERM: closing');
      expect(stopped.logs).not.toContain('admin token (generated');
    }
  });

  it('process without adminToken: a generated token is printed once and works', async () => {
    const relay = await startSystem(spacesSystem, { provider: 'process' });
    try {
      const m = /admin token \(generated[^)]*\): (\S+)/.exec(relay.logs());
      expect(m).not.toBeNull();
      const res = await fetch(`${relay.endpoint}/admin/spaces`, {
        headers: { authorization: `Bearer ${m?.[1]}` },
      });
      expect(res.status).toBe(200);
    } finally {
      await relay.stop();
    }
  });

  it('inprocess, restarted on a kept dbPath: the space and its token survive; mock app inprocess', async () => {
    const dbPath = path.join(await tempDir(), 'kept.db');
    let token = '';
    const first = await startSystem(spacesSystem, {
      provider: 'inprocess',
      options: { dbPath, adminToken: ADMIN },
    });
    try {
      token = await createSpace(first.endpoint, 'kept');
      await postJson(`${first.endpoint}/websockets/submit`, {
        space_id: 'kept',
        input: 'queued before restart',
      });
    } finally {
      await first.stop();
    }
    const again = await startSystem(spacesSystem, {
      provider: 'inprocess',
      options: { dbPath, adminToken: ADMIN },
    });
    try {
      expect(again.api.resumed).toBe(1);
      const app = await startSystem(spacesMockAppSystem, {
        provider: 'inprocess',
        options: { url: again.endpoint, space: 'kept', token },
      });
      try {
        await until(() => app.api.counters.handled === 1, 'the resumed request');
      } finally {
        await app.stop();
      }
    } finally {
      await again.stop();
    }
  });

  it('refuses an unknown start option before anything starts', async () => {
    const err = await startSystem(spacesSystem, {
      provider: 'inprocess',
      options: { requestTimeout: 3 } as never,
    }).catch((e: Error) => e);
    expect(String(err)).toMatch(/systems\.spaces\.options/);
  });
});
