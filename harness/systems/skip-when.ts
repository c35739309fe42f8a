import { beforeEach } from 'vitest';

/**
 * vitest helper: when `reason` is set (e.g. `queueUnavailableReason()`, `dockerUnavailableReason()`),
 * every test of the calling file, or of the `describe` it is called in, is skipped with that reason
 * (`ctx.skip(reason)`, so the reason reaches junit.xml and the report; `describe.skipIf` loses it).
 * Hooks around the tests still run: they must not touch what is missing.
 */
export function skipAllWhen(reason: string | undefined): void {
  if (reason === undefined) return;
  beforeEach((ctx) => {
    ctx.skip(reason);
  });
}
