import net from 'node:net';
import { execa } from 'execa';
import { RigError } from '../../errors.ts';
import { killProcessTree, processTreeAlive } from '../kill-tree.ts';
import { LogBuffer } from '../log-buffer.ts';
import type { ProcessProvider, Provider, StartContext, StartedRemote, StoppedSystem } from '../types.ts';
import { Wait } from '../wait.ts';

/** Where a server listening on `host` is reached: a wildcard address reads as loopback. */
export function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}

/** `host` as it goes in a URL: IPv6 addresses in brackets. */
export function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** A free TCP port on `host` (default 127.0.0.1), chosen by the kernel. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Fails with RIG_CONFIG_INVALID when `host:port` cannot be listened on (in use, not ours). */
export function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new RigError(
          'RIG_CONFIG_INVALID',
          `port ${port} on ${host} cannot be used: ${error.code ?? error.message}`,
          {
            hint: 'pass another --port, or stop what listens there',
          },
        ),
      ),
    );
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

/** A pause that does not keep the process alive by itself (the child's handle does while it runs). */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)).unref());

/**
 * Spawns the system in its own process group on the requested host and port (default 127.0.0.1
 * and a free port), captures stdout/stderr, waits for readiness, and on stop ends its process
 * tree (killProcessTree): SIGTERM to the group, then SIGKILL to whatever of it still runs after
 * the grace period, also when the system itself exited and a descendant did not; on Windows
 * `taskkill /T /F` at once. No orphans.
 */
export async function startProcess(
  name: string,
  provider: ProcessProvider,
  ctx: StartContext,
  cleanup: () => Promise<void>,
): Promise<StartedRemote<'process'>> {
  const host = ctx.host ?? '127.0.0.1';
  let port = ctx.port ?? 0;
  try {
    if (ctx.port === undefined) port = await freePort(host);
    else await assertPortFree(host, port);
  } catch (error) {
    await cleanup();
    throw error;
  }
  const { file, args, env, cwd } = await provider.command({ ...ctx, host, port });
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
  const reach = connectHost(host);
  const endpoint = (provider.endpoint ?? ((p, h) => `http://${urlHost(h)}:${p}`))(port, reach);
  let stopped: StoppedSystem | undefined;

  const stop = async (): Promise<StoppedSystem> => {
    if (stopped) return stopped;
    // Whether the system or anything it started runs. Windows can only ask about the system itself
    // (and once it exited, its pid may be another process's), so there it is the system's exit.
    const treeAlive = (p: number) =>
      process.platform === 'win32' ? !exit : processTreeAlive(p, { detached: true });
    // Until the child is reaped it may hold its sockets: a SIGKILLed multi-threaded process shows
    // as a zombie leader while its other threads still exit, with the listening port open. So an
    // unreaped child is always awaited; after it exited on its own, a descendant it left in its
    // group is ended too.
    if (pid !== undefined && (!exit || treeAlive(pid))) {
      const signalTree = async (signal: NodeJS.Signals) => {
        const result = await killProcessTree(pid, signal, { detached: true });
        if (result.state !== 'failed') return;
        logs.push(
          `\n[rig] could not end the process tree of ${name}: ${result.reason}; ending pid ${pid} alone\n`,
        );
        child.kill(signal);
      };
      await signalTree('SIGTERM');
      const deadline = Date.now() + (provider.stopGraceMs ?? 5_000);
      // the system exits, then what it started (a descendant may ignore SIGTERM) has the rest
      await Promise.race([done, sleep(deadline - Date.now())]);
      while (treeAlive(pid) && Date.now() < deadline) await sleep(25);
      if (!exit || treeAlive(pid)) await signalTree('SIGKILL');
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
      host: reach,
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

export const processProvider: Provider = {
  description: 'a child process in its own process group, on a free (or the requested) port',
  supports: (definition) => Boolean(definition.process),
  // startSystem asks supports() first.
  start: (definition, ctx, cleanup) => startProcess(definition.name, definition.process!, ctx, cleanup),
};
