// Public surface of the spaces mock app system: its typed handle and start options. The MockApp
// class itself lives in (and is exported by) systems/spaces.
import type { SystemHandle } from '../../harness/index.ts';
import type definition from './system.ts';

/** `startSystem(spacesMockAppSystem, { options: { url, space, token, delayMs } })`. */
export const spacesMockAppSystem: SystemHandle<typeof definition> = { name: 'spaces-mock-app' };

export { MockAppOptionsSchema, optionsToArgs, type SpacesMockAppOptions } from './options.ts';
