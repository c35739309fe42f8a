import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RigError } from '../errors.ts';
import { startProcess } from './process-provider.ts';
import type { ProcessProvider } from './types.ts';
import { Wait } from './wait.ts';

const server = `
const http = require('node:http');
const port = Number(process.argv[1]);
console.log('booting');
http.createServer((req, res) => res.end('ok')).listen(port, '127.0.0.1', () => console.log('listening on ' + port));
`;

function provider(script: string, wait?: ProcessProvider['wait']): ProcessProvider {
  return {
    command: ({ port }) => ({ file: process.execPath, args: ['-e', script, String(port)] }),
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
});
