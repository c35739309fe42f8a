import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RigError } from '../../errors.ts';
import type { ProcessProvider } from '../types.ts';
import { Wait } from '../wait.ts';
import { freePort, startProcess } from './process.ts';

const server = `
const http = require('node:http');
const port = Number(process.argv[1]);
console.log('booting');
const host = process.argv[2];
http.createServer((req, res) => res.end('ok')).listen(port, host, () => console.log('listening on ' + host + ':' + port));
`;

function provider(script: string, wait?: ProcessProvider['wait']): ProcessProvider {
  return {
    command: ({ host, port }) => ({ file: process.execPath, args: ['-e', script, String(port), host] }),
    ...(wait ? { wait } : {}),
    stopGraceMs: 1000,
  };
}

async function ctx() {
  const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'rig-test-'));
  return { tmpDir, options: {} };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('process provider', () => {
  it('starts, waits for readiness, captures logs, and leaves no process behind', async () => {
    let cleaned = false;
    const started = await startProcess('echo', provider(server), await ctx(), async () => {
      cleaned = true;
    });
    const res = await fetch(started.endpoint!);
    expect(await res.text()).toBe('ok');
    expect(started.logs()).toContain('listening on');
    const stopped = await started.stop();
    expect(stopped.logs).toContain('booting');
    expect(alive(started.pid!)).toBe(false);
    expect(cleaned).toBe(true);
    // stop is safe to call twice
    expect(await started.stop()).toBe(stopped);
  });

  it('reports an early exit with the log instead of hanging', async () => {
    const crash = "console.error('bad config: port'); process.exit(3)";
    const error = await startProcess('crashy', provider(crash), await ctx(), async () => {}).catch((e) => e);
    expect(error).toBeInstanceOf(RigError);
    expect((error as RigError).code).toBe('RIG_SYSTEM_EXITED');
    expect((error as RigError).message).toContain('bad config: port');
  });

  it('names what it waited for when readiness times out, and kills the process', async () => {
    const silent = "setInterval(() => {}, 1000); console.log('up, still warming')";
    const error = await startProcess(
      'silent',
      provider(silent, Wait.forLogMessage(/ready/, { timeoutMs: 500 })),
      await ctx(),
      async () => {},
    ).catch((e) => e);
    expect((error as RigError).code).toBe('RIG_SYSTEM_NOT_READY');
    expect((error as RigError).message).toMatch(/log line matching \/ready\/ not satisfied after 500ms/);
  });

  it('removes its temp dir through the cleanup hook', async () => {
    const c = await ctx();
    const { rm } = await import('node:fs/promises');
    const started = await startProcess('echo', provider(server), c, () =>
      rm(c.tmpDir, { recursive: true, force: true }),
    );
    await started.stop();
    expect(existsSync(c.tmpDir)).toBe(false);
  });

  it('listens on the requested port, and refuses one that is taken', async () => {
    const port = await freePort();
    const started = await startProcess('echo', provider(server), { ...(await ctx()), port }, async () => {});
    try {
      expect(started.endpoint).toBe(`http://127.0.0.1:${port}`);
      expect(await (await fetch(started.endpoint)).text()).toBe('ok');
      expect(started.logs()).toContain(`listening on 127.0.0.1:${port}`);
      let cleaned = false;
      const taken = await startProcess('second', provider(server), { ...(await ctx()), port }, async () => {
        cleaned = true;
      }).catch((e: unknown) => e);
      expect((taken as RigError).code).toBe('RIG_CONFIG_INVALID');
      expect((taken as RigError).message).toContain(`port ${port} on 127.0.0.1 cannot be used: EADDRINUSE`);
      expect(cleaned).toBe(true);
    } finally {
      await started.stop();
    }
  });

  it('listens on a wildcard host and is reached through loopback', async () => {
    const started = await startProcess(
      'echo',
      provider(server),
      { ...(await ctx()), host: '0.0.0.0' },
      async () => {},
    );
    try {
      expect(started.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(started.logs()).toContain('listening on 0.0.0.0:');
      const port = Number(new URL(started.endpoint).port);
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect({ host: '127.0.0.1', port }, () => {
          socket.destroy();
          resolve();
        });
        socket.on('error', reject);
      });
    } finally {
      await started.stop();
    }
  });
});
