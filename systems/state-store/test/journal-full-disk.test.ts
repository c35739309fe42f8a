// A full disk under the journal, injected with SpaceLimitedIo (real writes on a device that takes
// N more bytes, then short writes, then ENOSPC). suites/fault/state-store.crash.test.ts runs the
// same story on a real tmpfs where mounting one is allowed.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AsyncStateStore,
  encodeRecord,
  type FsmSnapshot,
  isGap,
  isStateStoreError,
  journalSnapshots,
  nextSnapshot,
  type OpenOptions,
  SpaceLimitedIo,
  scanJournal,
} from '../index.ts';

let dir: string;
let file: string;
const open: AsyncStateStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'state-store-full-'));
  file = path.join(dir, 'state.journal');
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function openStore(options: Partial<OpenOptions> = {}): Promise<AsyncStateStore> {
  const store = await AsyncStateStore.open({ journal: file, ...options });
  open.push(store);
  return store;
}

/** The next snapshot; every one encodes to the same number of bytes. */
function next(s: FsmSnapshot): FsmSnapshot {
  const v = String(s.version + 1).padStart(8, '0');
  return nextSnapshot(s, s.state === 'IDLE' ? 'ACTIVE' : 'IDLE', `w${v}`, {
    mergeContext: { v, pad: 'p'.repeat(200) },
    timestamp: 1_700_000_000_000,
  });
}

/** Versions of the whole records in the journal, in file order. */
const versionsIn = (bytes: Buffer): number[] => journalSnapshots(bytes).map((s) => s.version);

type Outcome = { ok: true } | { ok: false; error: unknown };
const attempt = (p: Promise<unknown>): Promise<Outcome> =>
  p.then(
    () => ({ ok: true }),
    (error: unknown) => ({ ok: false, error }),
  );

function expectNoSpace(outcome: Outcome): void {
  expect(outcome.ok).toBe(false);
  const error = (outcome as { error: unknown }).error;
  expect(isStateStoreError(error, 'STATE_JOURNAL_IO')).toBe(true);
  expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
}

describe('journal on a full disk (injected ENOSPC)', () => {
  it.each(['always', 'batch', 'never'] as const)(
    'refuses writes while full, loses no acknowledged one and recovers without a restart (fsync %s)',
    async (fsync) => {
      const io = new SpaceLimitedIo();
      const store = await openStore({ fsync, io });
      const seen: number[] = [];
      const sub = store.subscribe({ queueSize: 1024, includeCurrent: false });
      const acked: FsmSnapshot[] = [];
      for (let i = 0; i < 10; i++) {
        const s = next(store.get());
        await store.set(s);
        acked.push(s);
      }
      // Room for two and a half more records: the third is torn by a short write.
      const record = encodeRecord(next(store.get())).length;
      io.free = Math.floor(2.5 * record);
      let hit: Outcome | undefined;
      for (let i = 0; i < 10 && hit === undefined; i++) {
        const s = next(store.get());
        const outcome = await attempt(store.set(s));
        if (outcome.ok) acked.push(s);
        else hit = outcome;
      }
      expect(acked).toHaveLength(12);
      expectNoSpace(hit!);
      // The write that hit the full disk was applied in memory, unacknowledged.
      const applied = store.version;
      expect(applied).toBe(acked.at(-1)!.version + 1);
      for (let i = 0; i < 5; i++) expectNoSpace(await attempt(store.set(next(store.get()))));
      expect(store.version).toBe(applied);
      expect(store.getMetrics().journal).toMatchObject({ failed: true, failures: 1, recoveries: 0 });
      expect(store.getMetrics().journal?.error).toMatch(/ENOSPC/);
      for (let e = sub.poll(); e !== undefined; e = sub.poll()) if (!isGap(e)) seen.push(e.version);
      expect(seen.at(-1)).toBe(applied);

      // Space comes back: the next write recovers the journal, the same store goes on.
      io.free = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 5; i++) {
        const s = next(store.get());
        await store.set(s);
        acked.push(s);
      }
      expect(store.getMetrics().journal).toMatchObject({ failed: false, failures: 1, recoveries: 1 });
      const bytes = readFileSync(file);
      expect(scanJournal(bytes).droppedBytes).toBe(0);
      const versions = versionsIn(bytes);
      // Every acknowledged version is in the journal, in order; so is the one applied in memory
      // (the recovery wrote the current snapshot first), and nothing was refused.
      const ackedVersions = acked.map((s) => s.version);
      expect(versions.filter((v) => v > 0)).toEqual(
        [...ackedVersions.slice(0, 12), applied, ...ackedVersions.slice(12)].sort((a, b) => a - b),
      );
      await store.close();
      const reopened = await openStore({ fsync });
      expect(reopened.get()).toStrictEqual(acked.at(-1));
    },
  );

  it.each(['always', 'never'] as const)(
    'recovers at the very next write, cutting the torn record first (fsync %s)',
    async (fsync) => {
      const io = new SpaceLimitedIo();
      const store = await openStore({ fsync, io });
      let last = next(store.get());
      await store.set(last);
      io.free = Math.floor(encodeRecord(next(last)).length / 2);
      const torn = next(last);
      expectNoSpace(await attempt(store.set(torn)));
      io.free = Number.POSITIVE_INFINITY;
      last = next(torn);
      await store.set(last);
      const bytes = readFileSync(file);
      expect(scanJournal(bytes).droppedBytes).toBe(0);
      expect(versionsIn(bytes)).toEqual([0, 1, 2, 3]);
      await store.close();
      expect((await openStore()).get()).toStrictEqual(last);
    },
  );

  it('cuts a torn record off when it fails, so that a restart on the full disk sees the acknowledged prefix', async () => {
    const io = new SpaceLimitedIo();
    const store = await openStore({ fsync: 'always', io });
    let last = store.get();
    for (let i = 0; i < 5; i++) {
      last = next(last);
      await store.set(last);
    }
    io.free = Math.floor(encodeRecord(next(last)).length / 2);
    expectNoSpace(await attempt(store.set(next(last))));
    await store.close();
    // Still full: open reads the journal, cannot compact it (no space for the rewrite) and
    // keeps it as it is; reads work, writes are refused until space comes back.
    const full = await openStore({ fsync: 'always', io });
    expect(full.get()).toStrictEqual(last);
    expect(full.recovery).toMatchObject({ droppedBytes: 0, compacted: false });
    expect(full.recovery?.compactError).toMatch(/ENOSPC/);
    expect(readdirSync(dir)).toEqual(['state.journal']);
    expectNoSpace(await attempt(full.set(next(last))));
    expect(full.version).toBe(last.version + 1);
    io.free = Number.POSITIVE_INFINITY;
    const after = next(full.get());
    await full.set(after);
    await full.close();
    expect((await openStore()).get()).toStrictEqual(after);
  });

  it('keeps the journal when a compaction finds no space, and compacts once there is', async () => {
    const io = new SpaceLimitedIo();
    const store = await openStore({ fsync: 'batch', io, maxJournalBytes: 4096 });
    let s = store.get();
    const record = encodeRecord(next(s)).length;
    // Writes fit, but the rewrite of a compaction (header + one record) does not.
    io.free = 4096 + record;
    let refused = 0;
    for (let i = 0; i < 40 && refused === 0; i++) {
      const candidate = next(s);
      const outcome = await attempt(store.set(candidate));
      if (outcome.ok) s = candidate;
      else refused++;
    }
    const m = store.getMetrics().journal!;
    expect(m.compactionErrors).toBeGreaterThan(0);
    expect(m.compactions).toBe(0);
    expect(readdirSync(dir)).toEqual(['state.journal']);
    expect(refused).toBe(1);
    io.free = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 40; i++) {
      s = next(store.get());
      await store.set(s);
    }
    expect(store.getMetrics().journal).toMatchObject({ failed: false, recoveries: 1 });
    expect(store.getMetrics().journal?.compactions).toBeGreaterThan(0);
    await store.close();
    expect((await openStore()).get()).toStrictEqual(s);
  });

  it('refuses to create a journal on a full disk, with its code', async () => {
    const io = new SpaceLimitedIo(0);
    const error = await AsyncStateStore.open({ journal: file, io }).catch((e: unknown) => e);
    expect(isStateStoreError(error, 'STATE_JOURNAL_IO')).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('compact'))).toEqual([]);
  });
});
