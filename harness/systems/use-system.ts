import * as allure from 'allure-js-commons';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { RigError } from '../errors.ts';
import { startSystem } from './start.ts';
import type {
  AnySystemDefinition,
  ProvidersOf,
  Started,
  StartedSystem,
  StartOptions,
  SystemHandle,
} from './types.ts';

/**
 * vitest helper: starts the system before the file's tests and stops it after, attaches its log
 * to every failed test, and skips the tests with the stated reason when Docker is needed and
 * absent. Returns a getter for the started handle, typed by the system's handle:
 * `const queue = useSystem(queueSystem)` ... `queue().api.create()`.
 */
export function useSystem<D extends AnySystemDefinition, P extends ProvidersOf<D> = ProvidersOf<D>>(
  system: SystemHandle<D>,
  options?: StartOptions<D, P>,
): () => Started<D, P>;
/** @deprecated for suites: use a typed handle (`systems/<name>/index.ts`). */
export function useSystem<Api = unknown>(name: string, options?: StartOptions): () => StartedSystem<Api>;
export function useSystem(system: string | SystemHandle, options: StartOptions = {}): () => StartedSystem {
  const name = typeof system === 'string' ? system : system.name;
  let started: StartedSystem | undefined;
  let skipReason: string | undefined;
  beforeAll(async () => {
    try {
      started = await startSystem(name, options);
    } catch (error) {
      if (error instanceof RigError && error.code === 'RIG_DOCKER_UNAVAILABLE') {
        skipReason = error.message;
        console.warn(`[rig] skipping ${name} container tests: ${error.message}`);
        return;
      }
      throw error;
    }
  });
  beforeEach((ctx) => {
    if (skipReason) ctx.skip(skipReason);
    ctx.onTestFailed(async () => {
      const logs = started?.logs();
      if (logs) await allure.attachment(`${name} log`, logs, 'text/plain');
    });
  });
  afterAll(async () => {
    await started?.stop();
  });
  return () => {
    if (!started)
      throw new RigError(
        'RIG_SYSTEM_NOT_READY',
        `system ${name} is not started (skipped: ${skipReason ?? 'no'})`,
      );
    return started;
  };
}
