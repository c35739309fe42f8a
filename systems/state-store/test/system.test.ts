import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startSystem } from '../../../harness/index.ts';
import { AsyncStateStore, nextSnapshot, stateStoreSystem } from '../index.ts';
import definition from '../system.ts';

describe('system definition', () => {
  it('starts in process and stops cleanly', async () => {
    expect(definition.name).toBe('state-store');
    expect(definition.defaultProvider).toBe('inprocess');
    const started = await definition.inprocess.start({
      tmpDir: tmpdir(),
      options: definition.options.parse({}),
    });
    expect(started.api).toBeInstanceOf(AsyncStateStore);
    await started.api.set(nextSnapshot(started.api.get(), 'IDLE', 'up'));
    await started.stop();
    expect(started.api.isClosed).toBe(true);
  });

  it('starts a journaled store in the temp dir', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'state-store-system-'));
    try {
      const started = await definition.inprocess.start({
        tmpDir: dir,
        options: definition.options.parse({ journal: true, fsync: 'batch' }),
      });
      expect(started.api.getMetrics().journal).toMatchObject({ fsync: 'batch' });
      await started.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('through the harness: typed API, and bad options fail with their path before the start', async () => {
    const started = await startSystem(stateStoreSystem, { options: { journal: true, fsync: 'never' } });
    try {
      expect(started.provider).toBe('inprocess');
      expect(started.endpoint).toBeUndefined();
      await started.api.set(nextSnapshot(started.api.get(), 'IDLE', 'up'));
      expect(started.api.getMetrics().journal).toMatchObject({ fsync: 'never' });
    } finally {
      await started.stop();
    }
    // @ts-expect-error 'sometimes' is not an fsync policy
    const bad = startSystem(stateStoreSystem, { options: { fsync: 'sometimes' } });
    await expect(bad).rejects.toMatchObject({ code: 'RIG_CONFIG_INVALID' });
    await expect(bad).rejects.toThrow(/systems\.state-store\.options\.fsync: /);
  });
});
