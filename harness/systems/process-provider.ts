import net from 'node:net';
import { execa } from 'execa';
import { RigError } from '../errors.ts';
import { LogBuffer } from './log-buffer.ts';
import type { ProcessProvider, StartContext, StartedSystem, StoppedSystem } from './types.ts';
import { Wait } from './wait.ts';

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Spawns the system in its own process group, captures stdout/stderr, waits for readiness, and
 * on stop sends SIGTERM to the group, then SIGKILL after the grace period: no orphans.
 */
export async function startProcess(
  name: string,
  provider: ProcessProvider,
  ctx: StartContext,
  cleanup: () => Promise<void>,
): Promise<StartedSystem> {
  const port = await freePort();
  const { file, args, env, cwd } = await provider.command({ ...ctx, port });
  const logs = new LogBuffer();
  const child = execa(file, args, {
    env: { ...process.env, ...env },
    ...(cwd ? { cwd } : {}),
    reject: false,
    detached: true,
    cleanup: true,
    stdin: 'ignore',
    buffer: false,
    all: true,
  });
  child.all?.on('data', (chunk: Buffer) => logs.push(chunk));
  let exit: { code: number | null } | undefined;
  const done = child.then((result) => {
    exit = { code: result.exitCode ?? null };
    logs.push(
      `\n[rig] ${name} exited with code ${result.exitCode ?? 'null'}${result.signal ? ` (${result.signal})` : ''}\n`,
    );
  });
  const pid = child.pid;
  const endpoint = (provider.endpoint ?? ((p) => `http://127.0.0.1:${p}`))(port);
  let stopped: StoppedSystem | undefined;

  const stop = async (): Promise<StoppedSystem> => {
    if (stopped) return stopped;
    if (pid !== undefined && !exit) {
      const signalGroup = (signal: NodeJS.Signals) => {
        try {
          process.kill(-pid, signal);
        } catch {
          child.kill(signal);
        }
      };
      signalGroup('SIGTERM');
      const grace = provider.stopGraceMs ?? 5_000;
      const timer = new Promise((r) => setTimeout(r, grace));
      await Promise.race([done, timer]);
      if (!exit || isAlive(pid)) signalGroup('SIGKILL');
      await done;
    }
    await cleanup();
    stopped = { name, exitCode: exit?.code ?? null, logs: logs.text() };
    return stopped;
  };

  const wait = provider.wait ?? Wait.forHttp('/');
  try {
    await wait.waitUntilReady({
      endpoint,
      host: '127.0.0.1',
      port,
      logs: () => logs.text(),
      exited: () => exit,
    });
  } catch (error) {
    await stop();
    if (error instanceof RigError) throw new RigError(error.code, `system ${name}: ${error.message}`);
    throw error;
  }
  return { name, provider: 'process', endpoint, api: undefined, pid, logs: () => logs.text(), stop };
}
