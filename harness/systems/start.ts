import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RigError } from '../errors.ts';
import { runContext } from '../run/context.ts';
import { startContainer } from './container-provider.ts';
import { startProcess } from './process-provider.ts';
import { loadSystem } from './registry.ts';
import type { ProviderName, StartContext, StartedSystem, StoppedSystem, SystemDefinition } from './types.ts';

export interface StartOptions {
  provider?: ProviderName;
  options?: Record<string, unknown>;
}

/** The provider a start uses: an explicit one, else `external` when a target was given, else the default. */
export function chooseProvider(definition: SystemDefinition, requested?: ProviderName): ProviderName {
  if (requested) return requested;
  if (runContext().targets[definition.name]) return 'external';
  if (process.env.RIG_PROVIDER) return process.env.RIG_PROVIDER as ProviderName;
  return definition.defaultProvider;
}

/** Start a registered system with the chosen provider and return its started handle. */
export async function startSystem<Api = unknown>(
  name: string,
  options: StartOptions = {},
): Promise<StartedSystem<Api>> {
  const definition = (await loadSystem(name)) as SystemDefinition<Api>;
  const provider = chooseProvider(definition, options.provider);
  if (provider === 'external') return startExternal(definition);
  const tmpDir = await mkdtemp(path.join(os.tmpdir(), `rig-${name}-`));
  const cleanup = () => rm(tmpDir, { recursive: true, force: true });
  const ctx: StartContext = { tmpDir, options: options.options ?? {} };
  const missing = async () => {
    await cleanup();
    return new RigError('RIG_SYSTEM_UNKNOWN', `system ${name} has no ${provider} provider`, {
      hint: `use one of: ${['inprocess', 'process', 'container'].filter((p) => p in definition).join(', ')}`,
    });
  };
  switch (provider) {
    case 'inprocess': {
      if (!definition.inprocess) throw await missing();
      const started = await definition.inprocess.start(ctx).catch(async (error) => {
        await cleanup();
        throw error;
      });
      let stopped: StoppedSystem | undefined;
      return {
        name,
        provider,
        endpoint: started.endpoint,
        api: started.api,
        pid: process.pid,
        logs: () => '',
        stop: async () => {
          if (stopped) return stopped;
          stopped = { name, exitCode: null, logs: '' };
          await started.stop();
          await cleanup();
          return stopped;
        },
      };
    }
    case 'process':
      if (!definition.process) throw await missing();
      return (await startProcess(name, definition.process, ctx, cleanup)) as StartedSystem<Api>;
    case 'container':
      if (!definition.container) throw await missing();
      return (await startContainer(name, definition.container, cleanup)) as StartedSystem<Api>;
    default:
      throw new RigError(
        'RIG_USAGE',
        `unknown provider "${String(provider)}"; allowed: inprocess, process, container, external`,
      );
  }
}

async function startExternal<Api>(definition: SystemDefinition<Api>): Promise<StartedSystem<Api>> {
  const url =
    runContext().targets[definition.name] ??
    process.env[`RIG_TARGET_${definition.name.toUpperCase().replace(/-/g, '_')}`];
  if (!url) {
    throw new RigError(
      'RIG_TARGET_INVALID',
      `no external target for ${definition.name}; pass --target ${definition.name}=http://host:port`,
    );
  }
  const wait = definition.externalWait;
  if (wait) {
    const u = new URL(url);
    await wait.waitUntilReady({
      endpoint: url,
      host: u.hostname,
      port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
      logs: () => '',
      exited: () => undefined,
    });
  }
  const stopped = { name: definition.name, exitCode: null, logs: '' };
  return {
    name: definition.name,
    provider: 'external',
    endpoint: url,
    api: undefined,
    pid: undefined,
    logs: () => '',
    stop: async () => stopped,
  };
}
