import { RigError } from '../../errors.ts';
import { LogBuffer } from '../log-buffer.ts';
import type { ContainerProvider, Provider, StartContext, StartedRemote, StoppedSystem } from '../types.ts';
import { Wait } from '../wait.ts';

let dockerCheck: Promise<string | undefined> | undefined;

/** Undefined when a Docker engine answers, otherwise the reason it does not. */
export function dockerUnavailableReason(): Promise<string | undefined> {
  dockerCheck ??= (async () => {
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      await getContainerRuntimeClient();
      return undefined;
    } catch (error) {
      return `no Docker engine answers (${(error as Error).message.split('\n')[0]})`;
    }
  })();
  return dockerCheck;
}

/**
 * Starts the system's container through testcontainers and waits for readiness. The container's
 * port is mapped to a free host port, or to ctx.port when the caller asked for one.
 */
export async function startContainer(
  name: string,
  provider: ContainerProvider,
  ctx: Pick<StartContext, 'port'>,
  cleanup: () => Promise<void>,
): Promise<StartedRemote<'container'>> {
  const reason = await dockerUnavailableReason();
  if (reason) {
    await cleanup();
    throw new RigError('RIG_DOCKER_UNAVAILABLE', `system ${name} (container ${provider.image}): ${reason}`);
  }
  await provider.setup?.();
  const { GenericContainer } = await import('testcontainers');
  let builder = new GenericContainer(provider.image).withExposedPorts(
    ctx.port === undefined ? provider.port : { container: provider.port, host: ctx.port },
  );
  if (provider.command) builder = builder.withCommand(provider.command);
  if (provider.env) builder = builder.withEnvironment(provider.env);
  if (provider.binds) {
    builder = builder.withBindMounts(
      provider.binds.map(([source, target]) => ({ source, target, mode: 'ro' as const })),
    );
  }
  const logs = new LogBuffer();
  builder = builder.withLogConsumer((stream) =>
    stream.on('data', (line: Buffer | string) => logs.push(line)),
  );
  const container = await builder.start();
  const host = container.getHost();
  const port = container.getMappedPort(provider.port);
  const endpoint = (provider.endpoint ?? ((h, p) => `http://${h}:${p}`))(host, port);
  let stopped: StoppedSystem | undefined;
  const stop = async (): Promise<StoppedSystem> => {
    if (stopped) return stopped;
    await container.stop().catch(() => undefined);
    await cleanup();
    stopped = { name, exitCode: null, logs: logs.text() };
    return stopped;
  };
  try {
    await (provider.wait ?? Wait.forPort()).waitUntilReady({
      endpoint,
      host,
      port,
      logs: () => logs.text(),
      exited: () => undefined,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    name,
    provider: 'container',
    endpoint,
    api: undefined,
    pid: undefined,
    logs: () => logs.text(),
    stop,
  };
}

export const containerProvider: Provider = {
  description: 'a container through testcontainers (skipped with the reason when no Docker answers)',
  supports: (definition) => Boolean(definition.container),
  // startSystem asks supports() first.
  start: (definition, ctx, cleanup) => startContainer(definition.name, definition.container!, ctx, cleanup),
};
