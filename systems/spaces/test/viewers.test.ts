// The browser side of socket.io (namespace /viewers): a space's live state and the updates of the
// requests a viewer follows, and nothing else.
import { io as ioClient, type Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { onCleanup, startSpaces, until } from './helpers.ts';

async function viewer(url: string): Promise<Socket> {
  const s = ioClient(`${url}/viewers`, { transports: ['websocket'], reconnection: false, forceNew: true });
  onCleanup(() => {
    s.disconnect();
  });
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('connect_error', reject);
  });
  return s;
}

describe('viewers namespace', () => {
  it('pushes space state changes and the updates of followed requests only', async () => {
    const run = await startSpaces();
    const token = await run.space('a');
    const v = await viewer(run.url);
    const states: Array<Record<string, unknown>> = [];
    const updates: Array<Record<string, unknown>> = [];
    v.on('space_state', (s) => states.push(s));
    v.on('request_update', (u) => updates.push(u));
    expect(await v.timeout(5000).emitWithAck('watch', { space_id: 'a' })).toMatchObject({
      ok: true,
      space: { space_id: 'a', connections: 0 },
    });
    expect(await v.timeout(5000).emitWithAck('watch', { space_id: 'zz' })).toMatchObject({
      ok: false,
      error: { code: 'SPACES_SPACE_NOT_FOUND' },
    });
    const mine = await run.submit('a', 'mine');
    const other = await run.submit('a', 'other');
    expect(await v.timeout(5000).emitWithAck('follow', { request_id: mine })).toMatchObject({
      ok: true,
      request: { request_id: mine, status: 'queued' },
    });
    await run.app('a', token);
    await until(() => updates.some((u) => u.status === 'completed'), 'the completed update');
    expect(updates.find((u) => u.status === 'completed')).toMatchObject({
      request_id: mine,
      result: { echo: 'mine' },
    });
    expect(updates.every((u) => u.request_id === mine)).toBe(true);
    await until(() => states.some((s) => s.connections === 1), 'a state with the app connected');
    expect((await run.status(other)).status).toBe('completed');
  });
});
