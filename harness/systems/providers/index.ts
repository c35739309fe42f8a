// Providers by name: each is one file; a system's definition says which of them it supports.
import { RigError } from '../../errors.ts';
import type { AnySystemDefinition, Provider } from '../types.ts';
import { containerProvider } from './container.ts';
import { externalProvider } from './external.ts';
import { inprocessProvider } from './inprocess.ts';
import { processProvider } from './process.ts';

export const PROVIDERS = {
  inprocess: inprocessProvider,
  process: processProvider,
  container: containerProvider,
  external: externalProvider,
} as const satisfies Record<string, Provider>;

export type ProviderName = keyof typeof PROVIDERS;

export const PROVIDER_NAMES = Object.keys(PROVIDERS) as ProviderName[];

export function isProviderName(name: string): name is ProviderName {
  return Object.hasOwn(PROVIDERS, name);
}

/** `name` as a provider, or RIG_USAGE naming the allowed ones; `where` says who gave it. */
export function providerNamed(name: string, where = '--provider'): ProviderName {
  if (isProviderName(name)) return name;
  throw new RigError(
    'RIG_USAGE',
    `${where}: unknown provider "${name}"; allowed: ${PROVIDER_NAMES.join(', ')}`,
  );
}

/** The providers `definition` can start with, in PROVIDERS order. */
export function providersOf(definition: AnySystemDefinition): ProviderName[] {
  return PROVIDER_NAMES.filter((name) => PROVIDERS[name].supports(definition));
}
