import assert from 'node:assert/strict';
import {
  appendFileSync,
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AsyncStateStore,
  encodeRecord,
  type FsmSnapshot,
  isStateStoreError,
  JOURNAL_HEADER,
  nextSnapshot,
  scanJournal,
} from '../index.ts';

let dir: string;
let file: string;
const open: AsyncStateStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'state-store-journal-'));
  file = path.join(dir, 'state.journal');
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function openStore(
  options: Partial<Parameters<typeof AsyncStateStore.open>[0]> = {},
): Promise<AsyncStateStore> {
  const store = await AsyncStateStore.open({ journal: file, ...options });
  open.push(store);
  return store;
}

async function writeN(store: AsyncStateStore, n: number): Promise<FsmSnapshot> {
  let s = store.get();
  for (let i = 0; i < n; i++) {
    s = nextSnapshot(s, s.state === 'IDLE' ? 'ACTIVE' : 'IDLE', `step ${s.version + 1}`, {
      mergeContext: { step: String(s.version + 1) },
    });
    await store.set(s);
  }
  return s;
}

describe('journal', () => {
  it.each(['always', 'batch', 'never'] as const)(
    'recovers the last acknowledged snapshot (fsync %s)',
    async (fsync) => {
      const store = await openStore({ fsync });
      expect(store.recovery).toMatchObject({ records: 0, droppedBytes: 0 });
      const last = await writeN(store, 25);
      await store.close();
      // Compacted on close: header + the last record, so that a restart reads the live state only.
      expect(statSync(file).size).toBe(JOURNAL_HEADER.length + encodeRecord(last).length);
      const again = await openStore({ fsync });
      expect(again.get()).toStrictEqual(last);
      expect(again.recovery).toMatchObject({ records: 1, droppedBytes: 0, compacted: false });
      expect(again.getMetrics().journal).toMatchObject({ fsync, failed: false });
    },
  );

  it('keeps every record with compact: false, and compacts them on the next open', async () => {
    const store = await openStore({ compact: false });
    const last = await writeN(store, 25);
    await store.close();
    const reopened = await openStore();
    expect(reopened.get()).toStrictEqual(last);
    expect(reopened.recovery).toMatchObject({ records: 26, droppedBytes: 0, compacted: true });
    expect(statSync(file).size).toBe(JOURNAL_HEADER.length + encodeRecord(last).length);
  });

  it.each(['always', 'batch'] as const)(
    'compacts a running journal past maxJournalBytes (fsync %s)',
    async (fsync) => {
      const store = await openStore({ fsync, maxJournalBytes: 4096 });
      let s = store.get();
      for (let round = 0; round < 20; round++) {
        const acks: Array<Promise<void>> = [];
        for (let i = 0; i < 25; i++) {
          s = nextSnapshot(s, s.state === 'IDLE' ? 'ACTIVE' : 'IDLE', 'c', {
            mergeContext: { v: String(s.version + 1) },
          });
          acks.push(store.set(s));
        }
        await Promise.all(acks);
        assert.ok(statSync(file).size < 4096 + 25 * encodeRecord(s).length);
      }
      const m = store.getMetrics().journal!;
      expect(m.compactions).toBeGreaterThan(0);
      await store.close();
      const again = await openStore();
      expect(again.get()).toStrictEqual(s);
    },
  );

  it('syncs periodically under fsync batch', async () => {
    const store = await openStore({ fsync: 'batch', fsyncIntervalMs: 5 });
    await writeN(store, 10);
    await new Promise((r) => setTimeout(r, 50));
    expect(store.getMetrics().journal?.syncs).toBeGreaterThan(0);
  });

  it('acknowledges concurrent writes with shared fdatasyncs (group commit)', async () => {
    const store = await openStore({ fsync: 'always' });
    let s = store.get();
    const acks: Array<Promise<void>> = [];
    for (let i = 0; i < 200; i++) {
      s = nextSnapshot(s, s.state === 'IDLE' ? 'ACTIVE' : 'IDLE', 'burst');
      acks.push(store.set(s));
    }
    await Promise.all(acks);
    const m = store.getMetrics().journal!;
    expect(m.appended).toBe(201);
    expect(m.syncs).toBeLessThan(201);
    await store.close();
    expect((await openStore()).version).toBe(200);
  });

  it('drops a torn last record at every cut point, never half-applying it', async () => {
    const store = await openStore({ compact: false });
    const before = await writeN(store, 5);
    await store.close();
    const clean = readFileSync(file);
    const lastRecord = encodeRecord(before).length;
    for (let cut = 1; cut < lastRecord; cut++) {
      writeFileSync(file, clean.subarray(0, clean.length - cut));
      const result = scanJournal(readFileSync(file));
      assert.equal(result.last?.version, 4);
      assert.equal(result.droppedBytes, lastRecord - cut);
      assert.match(result.dropReason ?? '', /torn/);
    }
    const reopened = await openStore({ compact: false });
    expect(reopened.version).toBe(4);
    expect(reopened.recovery?.dropReason).toMatch(/torn/);
    expect(statSync(file).size).toBe(clean.length - lastRecord);
    // Appending continues cleanly after the cut.
    await writeN(reopened, 3);
    await reopened.close();
    expect((await openStore()).version).toBe(7);
  });

  it('drops a last record whose checksum fails (garbage tail)', async () => {
    const store = await openStore({ compact: false });
    await writeN(store, 3);
    await store.close();
    const bytes = readFileSync(file);
    bytes[bytes.length - 2]! ^= 0xff;
    writeFileSync(file, bytes);
    const reopened = await openStore();
    expect(reopened.version).toBe(2);
    expect(reopened.recovery?.dropReason).toMatch(/checksum/);
  });

  it('drops random garbage appended after the last record', async () => {
    const store = await openStore({ compact: false });
    await writeN(store, 3);
    await store.close();
    appendFileSync(file, Buffer.from([0x10, 0, 0, 0, 1, 2, 3]));
    expect((await openStore()).version).toBe(3);
  });

  it('refuses damage in the middle unless told to truncate', async () => {
    const store = await openStore({ compact: false });
    await writeN(store, 5);
    await store.close();
    const bytes = readFileSync(file);
    bytes[JOURNAL_HEADER.length + 10]! ^= 0xff; // inside the first record's payload
    writeFileSync(file, bytes);
    try {
      await openStore();
      expect.unreachable();
    } catch (error) {
      expect(isStateStoreError(error, 'STATE_JOURNAL_CORRUPT')).toBe(true);
    }
    const kept = await openStore({ onCorruption: 'truncate' });
    expect(kept.version).toBe(0);
    expect(kept.recovery?.dropReason).toMatch(/checksum/);
  });

  it('refuses a file that is not a journal, and a torn header counts as empty', async () => {
    writeFileSync(file, 'hello, this is not a journal');
    await expect(openStore()).rejects.toThrow(/STATE_JOURNAL_CORRUPT/);
    writeFileSync(file, JOURNAL_HEADER.subarray(0, 3));
    const store = await openStore();
    expect(store.version).toBe(0);
    await writeN(store, 1);
    await store.close();
    expect((await openStore()).version).toBe(1);
  });

  it.each(['always', 'batch', 'never'] as const)(
    'fails the store on a journal I/O error (fsync %s)',
    async (fsync) => {
      const store = await openStore({ fsync });
      // Inject the fault: swap the journal's descriptor for a read-only one on the same file, so
      // that writes fail with EBADF (and the store's own close() closes only that one).
      const { journal } = store as unknown as { journal: { fd: number } };
      closeSync(journal.fd);
      journal.fd = openSync(file, 'r');
      const s = nextSnapshot(store.get(), 'IDLE', 'x');
      await expect(store.set(s)).rejects.toThrow(/STATE_JOURNAL_IO/);
      await expect(store.set(nextSnapshot(s, 'ACTIVE', 'y'))).rejects.toThrow(/STATE_JOURNAL_IO/);
      expect(store.getMetrics().journal?.failed).toBe(true);
      // The first write was applied in memory before its journal write failed; nothing after it is.
      expect(store.version).toBe(1);
      // Recovery: reopening gives the last durable snapshot, and writing works again.
      await store.close();
      const reopened = await openStore({ fsync });
      expect(reopened.version).toBe(0);
      await writeN(reopened, 2);
      expect(reopened.getMetrics().journal?.failed).toBe(false);
    },
  );
});
