// kill -9 a child process that writes to a journaled state store (fsync 'always') at random
// moments, profile().kills times. After each restart the recovered snapshot must be intact and
// its version must be the last one the child acknowledged, or the single write that was in
// flight when it died (applied to the journal but not yet acknowledged on stdout).
// Then a full disk under the journal: a real ENOSPC on a small tmpfs where this process may mount
// one (root on Linux), else ENOSPC injected through the journal's I/O seam (SpaceLimitedIo).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { profile, progress, recordFigure, seededRandom } from '../../harness/index.ts';
import {
  AsyncStateStore,
  type FsmSnapshot,
  isStateStoreError,
  journalSnapshots,
  nextSnapshot,
  SpaceLimitedIo,
  scanJournal,
} from '../../systems/state-store/index.ts';

const writer = fileURLToPath(
  new URL('../../systems/state-store/test/fixtures/crash-writer.ts', import.meta.url),
);
const children = new Set<ChildProcess>();
const dirs: string[] = [];
/** Undone in reverse order after each test, whatever happened: stores, then mounts. */
const teardowns: Array<() => unknown> = [];
afterEach(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  const errors: unknown[] = [];
  for (const teardown of teardowns.splice(0).reverse()) {
    try {
      await teardown();
    } catch (error) {
      errors.push(error);
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  if (errors.length > 0) throw new AggregateError(errors, 'state-store fault suite teardown failed');
});

interface Recovered {
  recovered: number;
  v: string;
  reason: string;
  openMs: number;
  records: number;
  droppedBytes: number;
}

interface Restart {
  /** What the restarted writer recovered; absent when it reported nothing. */
  report?: Recovered;
  /** The last version it acknowledged, -1 for none. */
  lastAck: number;
  acked: number;
  /** Why this restart failed on its own (no report, or the writer died before the kill). */
  failure?: string;
}

/**
 * Start the writer, wait for its recovery report, let it acknowledge `acks` versions (plus a
 * random pause), kill -9. A writer that cannot recover is a result (`failure`), not an exception,
 * so that the recovery rate is recorded whatever happened.
 */
async function runOnce(journal: string, acks: number, pauseMs: number): Promise<Restart> {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, journal], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  let report: Recovered | undefined;
  let lastAck = -1;
  let acked = 0;
  let killTimer: NodeJS.Timeout | undefined;
  const watchdog = setTimeout(() => child.kill('SIGKILL'), 30_000);
  try {
    for await (const line of lines) {
      if (report === undefined) {
        report = JSON.parse(line) as Recovered;
        continue;
      }
      const m = /^ack (\d+)$/.exec(line);
      if (!m) throw new Error(`unexpected line from the writer: ${line}`);
      lastAck = Number(m[1]);
      acked++;
      if (acked === acks && killTimer === undefined) {
        killTimer = setTimeout(() => child.kill('SIGKILL'), pauseMs);
      }
    }
  } finally {
    clearTimeout(watchdog);
    clearTimeout(killTimer);
  }
  await exited;
  children.delete(child);
  const tail = stderr.slice(-2000);
  if (report === undefined)
    return { lastAck, acked, failure: `the writer reported nothing; stderr: ${tail}` };
  if (child.signalCode !== 'SIGKILL') {
    const how = child.signalCode ?? `exit code ${child.exitCode}`;
    return { report, lastAck, acked, failure: `the writer died on its own (${how}); stderr: ${tail}` };
  }
  return { report, lastAck, acked };
}

/** Why a recovered snapshot is not intact, or undefined when it is. */
function notIntact(r: { recovered: number; v: string; reason: string }): string | undefined {
  if (r.recovered === 0) {
    return r.reason === 'initial' ? undefined : `version 0 with reason "${r.reason}", not "initial"`;
  }
  // Every write carries its own version in contextData.v and in its reason: a mixed-up or
  // half-applied record would not match.
  if (r.v !== String(r.recovered) || r.reason !== `w${r.recovered}`) {
    return `version ${r.recovered} carries v=${r.v} and reason "${r.reason}"`;
  }
  return undefined;
}

describe('state-store crash safety', () => {
  it(`recovers the last acknowledged version after kill -9 (${profile().kills} kills)`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'state-store-crash-'));
    dirs.push(dir);
    const journal = path.join(dir, 'state.journal');
    const kills = profile().kills;
    let lastAcked = 0;
    let exact = 0;
    let inFlight = 0;
    let tornTails = 0;
    let simulatedTears = 0;
    let openMs = 0;
    let totalAcks = 0;
    let reported = 0;
    const random = seededRandom(12345);
    // Broken rules are collected and asserted after the figures are recorded: a failed recovery
    // must show in the recovery rate, not only stop the test.
    const violations: string[] = [];
    for (let k = 0; k < kills; k++) {
      const acks = 1 + Math.floor(random() * 40);
      const pauseMs = Math.floor(random() * 20);
      const { report, lastAck, acked, failure } = await runOnce(journal, acks, pauseMs);
      const at = `restart ${k + 1}/${kills}`;
      if (!report) {
        violations.push(`${at}: ${failure}`);
        continue;
      }
      progress(`crash ${k + 1}/${kills}: recovered ${report.recovered}, acked up to ${lastAck}`);
      const broken = [
        failure,
        notIntact(report),
        report.recovered === lastAcked || report.recovered === lastAcked + 1
          ? undefined
          : `recovered ${report.recovered}, but ${lastAcked} was the last acknowledged`,
        k > 0 && (k - 1) % 3 === 2 && report.droppedBytes === 0
          ? 'the simulated torn write was not dropped'
          : undefined,
        acked >= acks ? undefined : `only ${acked} of ${acks} writes acknowledged before the kill`,
      ].filter((v): v is string => v !== undefined);
      violations.push(...broken.map((v) => `${at}: ${v}`));
      if (notIntact(report) === undefined) {
        if (report.recovered === lastAcked) exact++;
        else if (report.recovered === lastAcked + 1) inFlight++;
      }
      if (report.droppedBytes > 0) tornTails++;
      reported++;
      openMs += report.openMs;
      totalAcks += acked;
      if (lastAck >= 0) lastAcked = lastAck;
      if (k % 3 === 2) {
        // Also simulate a write torn by a power cut: half a frame header plus some payload bytes.
        appendFileSync(journal, Buffer.from([0x40, 0x00, 0x00, 0x00, 0xde, 0xad, 0x08, 0x01, 0x10]));
        simulatedTears++;
      }
    }
    // The parent reopens the journal last: the same rule holds.
    try {
      const store = await AsyncStateStore.open({ journal, fsync: 'never' });
      const final = store.get();
      await store.close();
      const broken = notIntact({
        recovered: final.version,
        v: final.contextData.v ?? '',
        reason: final.reason,
      });
      if (broken) violations.push(`final reopen: ${broken}`);
      if (final.version !== lastAcked && final.version !== lastAcked + 1) {
        violations.push(`final reopen: version ${final.version}, but ${lastAcked} was the last acknowledged`);
      }
    } catch (error) {
      violations.push(`final reopen failed: ${(error as Error).message}`);
    }
    await recordFigure({
      id: 'state-store.crash.recovered_exact.rate',
      value: (100 * exact) / kills,
      unit: '%',
      better: 'higher',
      n: kills,
      method: `restarts whose recovered snapshot is intact and equals the last acknowledged one (intact with the one write in flight: ${inFlight}; failed: ${kills - exact - inFlight}); torn tails dropped: ${tornTails} (${simulatedTears} simulated)`,
    });
    await recordFigure({
      id: 'state-store.crash.open.mean',
      value: reported > 0 ? openMs / reported : 0,
      unit: 'ms',
      better: 'lower',
      n: reported,
      method:
        'AsyncStateStore.open() (scan, cut torn tail, compact) in the restarted writer, mean over restarts',
    });
    await recordFigure({
      id: 'state-store.crash.acked_writes',
      value: totalAcks,
      unit: 'ops',
      better: 'higher',
      n: kills,
      method: 'writes acknowledged (fsync always) across all killed runs',
    });
    expect(violations).toEqual([]);
  });
});

/** Size of the tmpfs under the journal: small enough to fill in a few milliseconds. */
const TMPFS_BYTES = 1024 * 1024;

/** Mount a tmpfs of `bytes` on `dir`: undefined once mounted, else why it could not be. */
function mountTmpfs(dir: string, bytes: number): string | undefined {
  if (process.env.STATE_STORE_FULL_DISK === 'injected') return 'STATE_STORE_FULL_DISK=injected';
  if (process.platform !== 'linux') return `mounting needs Linux, this is ${process.platform}`;
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (r.error) return `mount: ${r.error.message}`;
  if (r.status !== 0) return `mount -t tmpfs exited with ${r.status}: ${r.stderr.trim()}`;
  return undefined;
}

function unmount(dir: string): void {
  const r = spawnSync('umount', [dir], { encoding: 'utf8', timeout: 10_000 });
  if (r.status === 0) return;
  // Something still holds a file there: detach it now, the kernel frees it when released.
  const lazy = spawnSync('umount', ['-l', dir], { encoding: 'utf8', timeout: 10_000 });
  if (lazy.status !== 0) throw new Error(`umount ${dir} failed: ${r.stderr.trim()} / ${lazy.stderr.trim()}`);
}

/** Whether this process may mount a tmpfs (tried once, on a scratch directory), and why not. */
const tmpfsRefused = (() => {
  const probe = mkdtempSync(path.join(tmpdir(), 'state-store-tmpfs-probe-'));
  try {
    const why = mountTmpfs(probe, 64 * 1024);
    if (why === undefined) unmount(probe);
    return why;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
})();

/** A device under the journal that can be filled up and given back. */
interface FullDisk {
  dir: string;
  /** The injected I/O seam; undefined on a real tmpfs. */
  io: SpaceLimitedIo | undefined;
  /** Take all free space. */
  fill(): void;
  /** Give it back. */
  release(): void;
}

/** A 1 MiB tmpfs filled by a filler file, unmounted after the test. */
function tmpfsDisk(dir: string): FullDisk {
  const why = mountTmpfs(dir, TMPFS_BYTES);
  if (why !== undefined) throw new Error(`the tmpfs probe mounted, this mount did not: ${why}`);
  teardowns.push(() => unmount(dir));
  const filler = path.join(dir, 'filler');
  return {
    dir,
    io: undefined,
    fill() {
      const fd = openSync(filler, 'a');
      const chunk = Buffer.alloc(4096, 0x5a);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      } finally {
        closeSync(fd);
      }
    },
    release() {
      rmSync(filler);
    },
  };
}

/** The same story through SpaceLimitedIo; `fill` leaves about three records of room, like a page's slack. */
function injectedDisk(dir: string): FullDisk {
  const io = new SpaceLimitedIo();
  return {
    dir,
    io,
    fill() {
      io.free = 1000;
    },
    release() {
      io.free = Number.POSITIVE_INFINITY;
    },
  };
}

/** The next snapshot; all encode to the same size, so a refused write cannot fit where the last one did not. */
function nextFixed(s: FsmSnapshot): FsmSnapshot {
  const v = String(s.version + 1).padStart(8, '0');
  return nextSnapshot(s, s.state === 'IDLE' ? 'ACTIVE' : 'IDLE', `w${v}`, {
    mergeContext: { v, pad: 'p'.repeat(256) },
    timestamp: 1_700_000_000_000,
  });
}

/** The STATE_JOURNAL_IO with an ENOSPC cause that `p` rejects with, or why it is not one. */
async function noSpace(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return 'the write was acknowledged';
  } catch (error) {
    if (!isStateStoreError(error, 'STATE_JOURNAL_IO')) return `rejected with ${(error as Error).message}`;
    const cause = (error as Error).cause as NodeJS.ErrnoException | undefined;
    return cause?.code === 'ENOSPC' ? undefined : `STATE_JOURNAL_IO caused by ${cause?.code ?? cause}`;
  }
}

const FULL_DISK_WAY =
  tmpfsRefused === undefined
    ? `real ENOSPC on a ${TMPFS_BYTES / 1024} KiB tmpfs`
    : `injected ENOSPC (no tmpfs: ${tmpfsRefused})`;

describe('state-store on a full disk', () => {
  it(`refuses writes with STATE_JOURNAL_IO, loses no acknowledged one and recovers without a restart (${FULL_DISK_WAY})`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'state-store-full-'));
    dirs.push(dir);
    const disk = tmpfsRefused === undefined ? tmpfsDisk(dir) : injectedDisk(dir);
    const journal = path.join(dir, 'state.journal');
    const open = async () => {
      const store = await AsyncStateStore.open({
        journal,
        fsync: 'always',
        ...(disk.io ? { io: disk.io } : {}),
      });
      teardowns.push(() => store.close());
      return store;
    };
    const acked: FsmSnapshot[] = [];
    /** Writes until one is refused: the refusal, or undefined when 2,000 writes all fit. */
    const writeUntilRefused = async (store: AsyncStateStore) => {
      for (let i = 0; i < 2000; i++) {
        const s = nextFixed(store.get());
        try {
          await store.set(s);
          acked.push(s);
        } catch (error) {
          return error as Error;
        }
      }
      return undefined;
    };
    const ackedIn = (bytes: Buffer) => {
      const inJournal = new Set(journalSnapshots(bytes).map((s) => s.version));
      return acked.filter((s) => !inJournal.has(s.version)).map((s) => s.version);
    };

    const store = await open();
    const sub = store.subscribe({ queueSize: 4096, includeCurrent: false });
    for (let i = 0; i < 20; i++) {
      const s = nextFixed(store.get());
      await store.set(s);
      acked.push(s);
    }
    disk.fill();
    const hit = await writeUntilRefused(store);
    expect(hit, 'no write was refused on the full disk').toBeDefined();
    expect(await noSpace(Promise.reject(hit))).toBeUndefined();
    // The write that hit the full disk stays applied in memory, unacknowledged; later ones are refused.
    const applied = store.version;
    expect(applied).toBe(acked.at(-1)!.version + 1);
    for (let i = 0; i < 5; i++) expect(await noSpace(store.set(nextFixed(store.get())))).toBeUndefined();
    expect(store.version).toBe(applied);
    expect(store.getMetrics().journal).toMatchObject({ failed: true, failures: 1, recoveries: 0 });
    let delivered = 0;
    for (let e = sub.poll(); e !== undefined; e = sub.poll())
      delivered = Math.max(delivered, 'version' in e ? e.version : 0);
    expect(delivered).toBe(applied);

    // Space comes back: the same store takes writes again, no restart.
    disk.release();
    for (let i = 0; i < 20; i++) {
      const s = nextFixed(store.get());
      await store.set(s);
      acked.push(s);
    }
    expect(store.getMetrics().journal).toMatchObject({ failed: false, failures: 1, recoveries: 1 });
    const bytes = readFileSync(journal);
    expect(scanJournal(bytes).droppedBytes).toBe(0);
    expect(ackedIn(bytes), 'acknowledged versions missing from the journal').toEqual([]);

    // Full again, and a restart while it is: the journal opens (no room to compact it), gives the
    // last acknowledged snapshot, refuses writes, and takes them once space is back.
    disk.fill();
    expect(await writeUntilRefused(store)).toBeDefined();
    await store.close();
    const restarted = await open();
    expect(restarted.get()).toStrictEqual(acked.at(-1));
    expect(restarted.recovery?.compacted).toBe(false);
    expect(restarted.recovery?.compactError).toMatch(/ENOSPC/);
    const refusedAgain = await writeUntilRefused(restarted);
    expect(await noSpace(Promise.reject(refusedAgain))).toBeUndefined();
    disk.release();
    for (let i = 0; i < 5; i++) {
      const s = nextFixed(restarted.get());
      await restarted.set(s);
      acked.push(s);
    }
    await restarted.close();
    const last = await open();
    expect(last.get()).toStrictEqual(acked.at(-1));
    progress(`full disk (${FULL_DISK_WAY}): ${acked.length} writes acknowledged, all recovered`);
  });
});
