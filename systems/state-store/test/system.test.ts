import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AsyncStateStore, nextSnapshot } from '../index.ts';
import definition from '../system.ts';

describe('system definition', () => {
  it('starts in process and stops cleanly', async () => {
    expect(definition.name).toBe('state-store');
    expect(definition.defaultProvider).toBe('inprocess');
    const started = await definition.inprocess!.start({ tmpDir: tmpdir(), options: {} });
    expect(started.api).toBeInstanceOf(AsyncStateStore);
    await started.api!.set(nextSnapshot(started.api!.get(), 'IDLE', 'up'));
    await started.stop();
    expect(started.api!.isClosed).toBe(true);
  });

  it('starts a journaled store in the temp dir and validates options', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'state-store-system-'));
    try {
      const started = await definition.inprocess!.start({
        tmpDir: dir,
        options: { journal: true, fsync: 'batch' },
      });
      expect(started.api!.getMetrics().journal).toMatchObject({ fsync: 'batch' });
      await started.stop();
      await expect(
        definition.inprocess!.start({ tmpDir: dir, options: { fsync: 'sometimes' } }),
      ).rejects.toThrow(/STATE_INVALID_OPTIONS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
