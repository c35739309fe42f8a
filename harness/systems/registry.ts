import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { RigError } from '../errors.ts';
import type { AnySystemDefinition } from './types.ts';

/** The repository root: harness/systems/ is two levels below it. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Systems are discovered by the file `systems/<name>/system.ts`. */
export function listSystems(root = REPO_ROOT): string[] {
  const dir = path.join(root, 'systems');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, 'system.ts')))
    .map((d) => d.name)
    .sort();
}

export async function loadSystem(name: string, root = REPO_ROOT): Promise<AnySystemDefinition> {
  const file = path.join(root, 'systems', name, 'system.ts');
  if (!/^[a-z0-9-]+$/.test(name) || !existsSync(file)) {
    throw new RigError(
      'RIG_SYSTEM_UNKNOWN',
      `unknown system "${name}"; known: ${listSystems(root).join(', ') || 'none'}`,
    );
  }
  const mod = (await import(pathToFileURL(file).href)) as { default?: AnySystemDefinition };
  if (!mod.default || mod.default.name !== name) {
    throw new RigError(
      'RIG_SYSTEM_UNKNOWN',
      `systems/${name}/system.ts must default-export defineSystem({ name: '${name}', ... })`,
    );
  }
  return mod.default;
}
