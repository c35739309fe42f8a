// Scale of the state store's journal: in nightly 1 GiB of snapshots (256 KiB each) goes through
// one journal, compacted whenever it passes maxJournalBytes (64 MiB, the default); other profiles
// push a few MiB the same way. Asserted: the file never grows past maxJournalBytes and a record
// or two, every restart recovers the last snapshot, and close() leaves the live state only.
// Figures: the append rate, peak RSS, and restart time after that history against a restart after
// a short history with the same live state (interleaved pairs, median ratio): restart cost must
// follow the live state, not the history.
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  interleaved,
  pairedRatio,
  profile,
  progress,
  ResourceSampler,
  recordFigure,
  recordThroughput,
  summarize,
  ThroughputMeter,
} from '../../harness/index.ts';
import {
  AsyncStateStore,
  encodeRecord,
  type FsmSnapshot,
  JOURNAL_HEADER,
  nextSnapshot,
} from '../../systems/state-store/index.ts';

const MiB = 1024 * 1024;
const nightly = profile().name === 'nightly';
/** Snapshot bytes appended to the journal: 1 GiB in nightly, a few MiB elsewhere. */
const HISTORY_BYTES = nightly ? 1024 * MiB : profile().count(8 * MiB);
/** Context entries of the live snapshot (about 256 bytes each): 256 KiB in nightly, 16 KiB elsewhere. */
const ENTRIES = nightly ? 1024 : 64;
/** Compaction threshold of the running journal: the default in nightly. */
const MAX_JOURNAL_BYTES = nightly ? 64 * MiB : 1 * MiB;
/** Restarts per window; windows come in interleaved pairs. */
const OPENS_PER_WINDOW = 5;
const PAIRS = 5;

const stores: AsyncStateStore[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function open(journal: string): Promise<AsyncStateStore> {
  const store = await AsyncStateStore.open({ journal, fsync: 'batch', maxJournalBytes: MAX_JOURNAL_BYTES });
  stores.push(store);
  return store;
}

function liveContext(): Record<string, string> {
  const ctx: Record<string, string> = {};
  for (let i = 0; i < ENTRIES; i++) ctx[`key-${String(i).padStart(5, '0')}`] = 'v'.repeat(240);
  return ctx;
}

/** Open `journal` `times` times in a row; ms per open. Each must recover `expected`. */
async function restarts(journal: string, expected: FsmSnapshot, times: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    const store = await AsyncStateStore.open({ journal, fsync: 'batch', maxJournalBytes: MAX_JOURNAL_BYTES });
    ms.push(performance.now() - t0);
    const got = store.get();
    await store.close();
    expect(got).toStrictEqual(expected);
  }
  return ms;
}

const median = (xs: number[]) => summarize(xs, { statistic: 'p50', resamples: 100 }).p50;

describe('state-store journal at scale', () => {
  it(`${(HISTORY_BYTES / MiB).toFixed(0)} MiB of snapshots through a compacting journal: bounded file, peak RSS, restart after the history vs a short one`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'state-store-scale-'));
    dirs.push(dir);
    const journal = path.join(dir, 'history.journal');
    const store = await open(journal);
    let s = nextSnapshot(store.get(), 'IDLE', 'up', { contextData: liveContext() });
    await store.set(s);
    const record = encodeRecord(s).length;
    const sampler = new ResourceSampler({ intervalMs: nightly ? 100 : 20 }).start();
    const meter = new ThroughputMeter({ intervalMs: nightly ? 250 : 20 }).start();
    let maxFile = 0;
    let writes = 0;
    let appended = store.getMetrics().journal!.bytes;
    while (store.getMetrics().journal!.bytes < HISTORY_BYTES) {
      s = nextSnapshot(s, 'ACTIVE', 'scale', {
        mergeContext: { [`key-${String(writes % ENTRIES).padStart(5, '0')}`]: `w${writes}`.padEnd(240, 'v') },
      });
      await store.set(s);
      writes++;
      const bytes = store.getMetrics().journal!.bytes;
      meter.add(bytes - appended);
      appended = bytes;
      maxFile = Math.max(maxFile, statSync(journal).size);
      if (writes % 256 === 0) {
        progress(
          `scale: ${(bytes / MiB).toFixed(0)}/${(HISTORY_BYTES / MiB).toFixed(0)} MiB through the journal`,
        );
        await new Promise((r) => setImmediate(r)); // let the sampler's timer run
      }
    }
    const rate = meter.stop();
    const resources = sampler.stop();
    const m = store.getMetrics().journal!;
    // What a process crash leaves behind now: the running journal, bounded by its compactions.
    const crashCopy = path.join(dir, 'crash.journal');
    copyFileSync(journal, crashCopy);
    const crashBytes = statSync(crashCopy).size;
    await store.close();
    expect(statSync(journal).size).toBe(JOURNAL_HEADER.length + encodeRecord(s).length);

    // The same live state after a history of one write.
    const shortJournal = path.join(dir, 'short.journal');
    const short = await open(shortJournal);
    const shortLive = nextSnapshot(short.get(), 'IDLE', 'up', { contextData: { ...s.contextData } });
    await short.set(shortLive);
    await short.close();

    const crashMs = await restarts(crashCopy, s, 1);
    const pairs = await interleaved({
      windows: PAIRS,
      label: 'state-store restart after the history vs after a short one',
      a: async () => median(await restarts(journal, s, OPENS_PER_WINDOW)),
      b: async () => median(await restarts(shortJournal, shortLive, OPENS_PER_WINDOW)),
    });
    const ratio = pairedRatio(pairs.a, pairs.b, { resamples: profile().resamples });
    const rssMiB = resources.samples.map((x) => x.rssMiB);
    const peak = Math.max(...rssMiB);

    const history = `${(m.bytes / MiB).toFixed(0)} MiB in ${m.appended} snapshots of ${(record / 1024).toFixed(0)} KiB (${ENTRIES} context entries), fsync batch, maxJournalBytes ${MAX_JOURNAL_BYTES / MiB} MiB (${m.compactions} compactions)`;
    await recordThroughput('state-store.scale.journal.throughput', rate, {
      unit: 'B/s',
      method: `journal bytes per second, awaited nextSnapshot(mergeContext of 1 key) + set() on a journaled store: ${history}`,
    });
    await recordFigure({
      id: 'state-store.scale.peak_rss',
      value: peak,
      unit: 'MiB',
      better: 'lower',
      n: rssMiB.length,
      series: resources.samples.map((x) => [x.t, x.rssMiB]),
      method: `largest RSS of the test process while ${history} went through the journal (sampled every ${nightly ? 100 : 20} ms)`,
    });
    await recordFigure({
      id: 'state-store.scale.rss.growth',
      value: peak - rssMiB[0]!,
      unit: 'MiB',
      better: 'lower',
      n: rssMiB.length,
      method: `peak RSS minus RSS before the first write, while ${history} went through the journal`,
    });
    const restartMethod = (what: string) =>
      `AsyncStateStore.open() of a cleanly closed journal (${what}; close() compacts to the live snapshot), median of ${OPENS_PER_WINDOW} opens per window, ${PAIRS} windows interleaved with the other history`;
    const shortFigure = await recordFigure({
      id: 'state-store.scale.restart.after_short',
      value: median(pairs.b),
      unit: 'ms',
      better: 'lower',
      n: pairs.b.length,
      method: restartMethod('after a history of one write with the same live state; reference'),
    });
    await recordFigure({
      id: 'state-store.scale.restart.after_history',
      value: median(pairs.a),
      unit: 'ms',
      better: 'lower',
      n: pairs.a.length,
      method: `${restartMethod(`after ${history}`)}; ratio: median over pairs of after_history / after_short, ci95 by bootstrap over pairs`,
      reference: {
        id: shortFigure.id,
        value: shortFigure.value,
        ratio: ratio.value,
        ratioCi95: ratio.ci95,
        pairs: ratio.n,
      },
    });
    await recordFigure({
      id: 'state-store.scale.restart.crash',
      value: crashMs[0]!,
      unit: 'ms',
      better: 'lower',
      n: 1,
      method: `AsyncStateStore.open() of the running journal as a crash would leave it (${(crashBytes / MiB).toFixed(2)} MiB: at most maxJournalBytes and a record, whatever the history) after ${history}; scan, cut, compact`,
    });

    expect(m.bytes).toBeGreaterThanOrEqual(HISTORY_BYTES);
    expect(m.compactions).toBeGreaterThanOrEqual(Math.floor(HISTORY_BYTES / MAX_JOURNAL_BYTES) - 1);
    expect(m.compactionErrors).toBe(0);
    // A compaction waits for no write in flight; under 'batch' it may wait for a periodic fdatasync.
    expect(maxFile).toBeLessThanOrEqual(MAX_JOURNAL_BYTES + 8 * record);
    expect(crashBytes).toBeLessThanOrEqual(MAX_JOURNAL_BYTES + 8 * record);
  });
});
