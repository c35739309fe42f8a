import { RigError } from '../../errors.ts';
import { targetFor } from '../../run/env.ts';
import type { Provider, StartedRemote, StoppedSystem } from '../types.ts';
import { Wait, type WaitStrategy } from '../wait.ts';

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443 };

/**
 * Readiness of an external target: a WebSocket server is ready when its port accepts a TCP
 * connection; an HTTP one by the system's `externalWait` (none: taken as it is).
 */
export function externalWaitFor(url: URL, httpWait: WaitStrategy | undefined): WaitStrategy | undefined {
  if (url.protocol === 'ws:' || url.protocol === 'wss:')
    return Wait.forPort({ timeoutMs: httpWait?.timeoutMs ?? 30_000 });
  return httpWait;
}

/** Reaches a system somebody else runs: the URL of `--target name=url` or RIG_TARGET_<NAME>. */
export const externalProvider: Provider = {
  description: 'a server somebody else runs: --target name=url (http, https, ws, wss)',
  // Only a system reached over the network can be somebody else's server.
  supports: (definition) => Boolean(definition.process || definition.container || definition.externalWait),
  async start(definition, ctx, cleanup): Promise<StartedRemote<'external'>> {
    const name = definition.name;
    await cleanup(); // nothing of ours runs: the temp dir is not needed
    if (ctx.host !== undefined || ctx.port !== undefined)
      throw new RigError('RIG_USAGE', `system ${name}: --host/--port do not apply to an external target`);
    const endpoint = targetFor(name);
    if (!endpoint) {
      throw new RigError(
        'RIG_TARGET_INVALID',
        `no external target for ${name}; pass --target ${name}=http://host:port`,
      );
    }
    const url = new URL(endpoint);
    const wait = externalWaitFor(url, definition.externalWait);
    if (wait) {
      try {
        await wait.waitUntilReady({
          endpoint,
          host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: Number(url.port || DEFAULT_PORTS[url.protocol]),
          logs: () => '',
          exited: () => undefined,
        });
      } catch (error) {
        if (error instanceof RigError)
          throw new RigError(error.code, `external target ${name} (${endpoint}): ${error.message}`);
        throw error;
      }
    }
    const stopped: StoppedSystem = { name, exitCode: null, logs: '' };
    return {
      name,
      provider: 'external',
      endpoint,
      api: undefined,
      pid: undefined,
      logs: () => '',
      stop: async () => stopped,
    };
  },
};
