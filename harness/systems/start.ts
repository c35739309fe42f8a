import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { z } from 'zod';
import { RigError } from '../errors.ts';
import { readRigEnv, targetFor } from '../run/env.ts';
import { PROVIDERS, type ProviderName, providerNamed, providersOf } from './providers/index.ts';
import { loadSystem } from './registry.ts';
import type {
  AnySystemDefinition,
  ProvidersOf,
  Started,
  StartedSystem,
  StartOptions,
  SystemHandle,
} from './types.ts';

/**
 * The provider a start uses: the one asked for; else `external` when a target is given for the
 * system (targetFor); else RIG_PROVIDER when the system has that provider; else its default.
 */
export function chooseProvider(definition: AnySystemDefinition, requested?: ProviderName): ProviderName {
  if (requested) return providerNamed(requested, `system ${definition.name}: provider`);
  if (PROVIDERS.external.supports(definition) && targetFor(definition.name)) return 'external';
  const fromEnv = readRigEnv().RIG_PROVIDER;
  if (fromEnv) {
    const name = providerNamed(fromEnv, 'RIG_PROVIDER');
    if (PROVIDERS[name].supports(definition)) return name;
  }
  return definition.defaultProvider;
}

function issuePath(prefix: string, issue: z.core.$ZodIssue): string {
  return [prefix, ...issue.path.map(String)].join('.');
}

/** The keys an object schema allows at `at` (optional and default wrappers looked through). */
function keysAt(schema: unknown, at: readonly PropertyKey[]): string[] | undefined {
  let node = schema as { shape?: Record<string, unknown>; unwrap?: () => unknown } | undefined;
  for (let i = 0; node && i <= at.length; i++) {
    while (node && !node.shape && typeof node.unwrap === 'function') node = node.unwrap() as typeof node;
    if (i === at.length) break;
    node = node?.shape?.[String(at[i])] as typeof node;
  }
  return node?.shape ? Object.keys(node.shape) : undefined;
}

/**
 * The start options validated by the definition's schema, e.g. RIG_CONFIG_INVALID
 * `systems.inference.options.engin: unrecognized key (allowed: engine, modelPath, ...)`.
 */
export function parseSystemOptions(
  definition: AnySystemDefinition,
  options: unknown = {},
): Record<string, unknown> {
  const schema = definition.options as z.ZodType<Record<string, unknown>> | undefined;
  if (!schema) return { ...(options as Record<string, unknown>) };
  const parsed = schema.safeParse(options);
  if (parsed.success) return parsed.data;
  const prefix = `systems.${definition.name}.options`;
  const lines = parsed.error.issues.flatMap((issue) => {
    if (issue.code !== 'unrecognized_keys') return [`${issuePath(prefix, issue)}: ${issue.message}`];
    const keys = keysAt(schema, issue.path);
    const allowed = keys ? ` (allowed: ${keys.join(', ') || 'none'})` : '';
    return issue.keys.map((key) => `${issuePath(prefix, issue)}.${key}: unrecognized key${allowed}`);
  });
  throw new RigError('RIG_CONFIG_INVALID', lines.join('; '), {
    hint: `fix the named start option of ${definition.name} (systems/${definition.name}/system.ts declares them)`,
  });
}

/** The port of an endpoint URL, its scheme's default when it names none. */
function portOf(endpoint: string): number {
  const url = new URL(endpoint);
  return Number(url.port || (url.protocol === 'https:' || url.protocol === 'wss:' ? 443 : 80));
}

/**
 * Start a registered system and return its started handle. With a handle the result is typed:
 * `(await startSystem(queueSystem)).api` is the queue's API, `.endpoint` of a process start a
 * string. By name (`startSystem('inference')`, as the CLI does) it is a plain StartedSystem.
 */
export function startSystem<D extends AnySystemDefinition, P extends ProvidersOf<D> = ProvidersOf<D>>(
  system: SystemHandle<D>,
  options?: StartOptions<D, P>,
): Promise<Started<D, P>>;
/** @deprecated for suites: start through a typed handle (`systems/<name>/index.ts`). */
export function startSystem<Api = unknown>(name: string, options?: StartOptions): Promise<StartedSystem<Api>>;
export async function startSystem(
  system: string | SystemHandle,
  options: StartOptions = {},
): Promise<StartedSystem> {
  const name = typeof system === 'string' ? system : system.name;
  const definition = await loadSystem(name);
  const provider = chooseProvider(definition, options.provider);
  const chosen = PROVIDERS[provider];
  if (!chosen.supports(definition)) {
    throw new RigError('RIG_SYSTEM_UNKNOWN', `system ${name} has no ${provider} provider`, {
      hint: `use one of: ${providersOf(definition).join(', ')}`,
    });
  }
  const parsed = parseSystemOptions(definition, options.options);
  const tmpDir = await mkdtemp(path.join(os.tmpdir(), `rig-${name}-`));
  const cleanup = () => rm(tmpDir, { recursive: true, force: true });
  const started = await chosen.start(
    definition,
    {
      tmpDir,
      options: parsed,
      ...(options.host !== undefined ? { host: options.host } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
    },
    cleanup,
  );
  // A provider that does not listen where it was asked fails here, rather than serve elsewhere.
  if (options.port !== undefined && (!started.endpoint || portOf(started.endpoint) !== options.port)) {
    await started.stop();
    throw new RigError(
      'RIG_CONFIG_INVALID',
      `system ${name} (${provider}) did not listen on the requested port ${options.port}${started.endpoint ? ` but at ${started.endpoint}` : ': it has no network endpoint'}`,
      {
        hint: started.endpoint
          ? `systems/${name}/system.ts: its ${provider} provider must listen on ctx.port`
          : 'a port applies to a system that listens: drop it',
      },
    );
  }
  return started;
}
