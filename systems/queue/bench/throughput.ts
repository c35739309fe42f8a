import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { readProc } from '../../../harness/measure/resources.ts';
import { type Peer, spawnPeer } from '../src/peers.ts';
import { Queue } from '../src/queue.ts';
import { assertStampable, combineReports, type StreamCheck, type VerifierReport } from './message-check.ts';
import {
  mergePeerBuckets,
  type RateSample,
  summariseUse,
  type UseSummary,
  type WindowSample,
} from './types.ts';

export interface QueueThroughputOptions {
  producers: number;
  consumers: number;
  size: number;
  durationMs: number;
  warmupMs: number;
  /** Ring size; default 4 MiB (at least 16 messages). */
  capacityBytes?: number;
  /**
   * Messages per Node-API crossing on both sides (putManyFrom / getManyInto). Default 64, at most
   * 1 MiB of messages per batch; the sample says which batch ran.
   */
  batch?: number;
  /**
   * How the peers call the queue: `batch` (putManyFrom/getManyInto of `batch`, the default),
   * `await` (one `await put()` / `await get()` per message, raw mode; batch 1) or `await-value`
   * (the same in value mode).
   */
  api?: 'batch' | 'await' | 'await-value';
  /** Spin iterations before a waiter sleeps. Default 2000. */
  spin?: number;
  bucketMs?: number;
}

interface DrainResult {
  got: number;
  startNs: string;
  bucketMs: number;
  buckets: number[];
  check: VerifierReport;
}

export interface QueueRateSample extends RateSample {
  /** Ring use (usedBytes / capacity) sampled every bucket over the window. */
  utilisation: UseSummary;
  /** Resident set size of each peer process (floods, then drains) when the window began and ended. */
  rss: { start: number[]; end: number[] };
  /** Messages per Node-API call that ran (1: one put and one get call per message). */
  batch: number;
  /** How the peers called the queue. */
  api: 'batch' | 'await' | 'await-value';
  /** Every message stamped by its flood process and verified by the drain that got it. */
  check: StreamCheck;
}

/** One queue with its flood and drain processes, all running. */
interface Peers {
  q: Queue<Buffer>;
  batch: number;
  api: 'batch' | 'await' | 'await-value';
  floods: Peer<{ sent: number }>[];
  drains: Peer<DrainResult>[];
}

async function startPeers(o: Omit<QueueThroughputOptions, 'durationMs' | 'warmupMs'>): Promise<Peers> {
  assertStampable(o.size); // before any process starts
  const api = o.api ?? 'batch';
  const batch =
    api === 'batch' ? Math.max(1, Math.min(o.batch ?? 64, Math.floor((1 << 20) / o.size) || 1)) : 1;
  const capacityBytes = o.capacityBytes ?? Math.max(4 << 20, (o.size + 8) * 16);
  const name = `bench-${process.pid}-${randomBytes(4).toString('hex')}`;
  const q = Queue.create<Buffer>(name, { capacityBytes: Math.ceil(capacityBytes / 8) * 8, mode: 'raw' });
  const spin = o.spin ?? 2000;
  const peers: Peers = { q, batch, api, floods: [], drains: [] };
  try {
    for (let id = 0; id < o.consumers; id++) {
      peers.drains.push(
        spawnPeer<DrainResult>('drain', {
          name,
          id,
          size: o.size,
          batch,
          api,
          spin,
          bucketMs: o.bucketMs ?? 50,
          producers: o.producers,
          consumers: o.consumers,
        }),
      );
    }
    await Promise.all(peers.drains.map((d) => d.ready));
    for (let id = 0; id < o.producers; id++) {
      // floods run until shutdown(): windows are timed here, once every peer is running
      peers.floods.push(spawnPeer('flood', { name, id, size: o.size, batch, api, spin, durationMs: 1e9 }));
    }
    await Promise.all(peers.floods.map((f) => f.ready));
    return peers;
  } catch (error) {
    killPeers(peers);
    throw error;
  }
}

function killPeers(p: Peers): void {
  for (const peer of [...p.drains, ...p.floods]) peer.kill('SIGKILL');
  p.q.destroy();
}

/** Shuts the queue and waits for every peer's result: what each flood sent, what each drain got. */
async function stopPeers(p: Peers): Promise<{ check: StreamCheck; drains: DrainResult[] }> {
  try {
    p.q.shutdown();
    const sent: number[] = [];
    const drains: DrainResult[] = [];
    for (const peer of [...p.floods, ...p.drains]) {
      const exit = await peer.exited;
      if (exit.code !== 0)
        throw new Error(`${peer.role} peer failed (${exit.code ?? exit.signal}): ${exit.stderr}`);
      if (peer.role === 'flood') sent.push((exit.result as { sent: number }).sent);
      else drains.push(exit.result as DrainResult);
    }
    return {
      check: combineReports(
        sent,
        drains.map((d) => d.check),
      ),
      drains,
    };
  } finally {
    killPeers(p);
  }
}

/** A peer's resident set size in bytes, 0 when it is gone. */
const rssBytes = (pid: number): number => Math.round((readProc(pid)?.rssMiB ?? 0) * 2 ** 20);

/**
 * Cross-process throughput: `producers` flood processes and `consumers` drain processes on one
 * queue (raw mode, batched); consumer buckets are merged on the shared monotonic clock. Floods
 * stamp a sequence number and checksum into every message, drains verify each one; `check` holds
 * the verdict (sent, received, mismatches).
 */
export async function queueThroughput(o: QueueThroughputOptions): Promise<QueueRateSample> {
  const bucketMs = o.bucketMs ?? 50;
  const peers = await startPeers(o);
  let startNs: bigint;
  const use: number[] = [];
  const pids = [...peers.floods, ...peers.drains].map((p) => p.pid);
  const rss: { start: number[]; end: number[] } = { start: [], end: [] };
  try {
    startNs = process.hrtime.bigint();
    await sleep(o.warmupMs);
    rss.start = pids.map(rssBytes);
    const endAt = Date.now() + o.durationMs + bucketMs;
    while (Date.now() < endAt) {
      await sleep(Math.min(bucketMs, Math.max(1, endAt - Date.now())));
      use.push(peers.q.stats().utilisation);
    }
    rss.end = pids.map(rssBytes);
  } catch (error) {
    killPeers(peers);
    throw error;
  }
  const { check, drains } = await stopPeers(peers);
  return {
    ...mergePeerBuckets(drains, startNs, { ...o, bucketMs }),
    batch: peers.batch,
    api: peers.api,
    check,
    utilisation: summariseUse(use),
    rss,
  };
}

export type QueueWindowsOptions = Omit<QueueThroughputOptions, 'durationMs' | 'warmupMs' | 'bucketMs'>;

/** The queue's peers started once and run only inside their windows (paired with a reference's). */
export interface QueueWindows {
  /** Messages per Node-API call that run (1: one put and one get call per message). */
  readonly batch: number;
  /**
   * Resumes the peers (SIGCONT), lets them run `settleMs` uncounted, counts the messages the
   * drains got (the ring's messagesOut) over `durationMs`, then stops them again (SIGSTOP).
   */
  window(o: { durationMs: number; settleMs?: number }): Promise<WindowSample>;
  /**
   * Shuts the queue and collects the verdict over every message of every window; kills what is
   * left and removes the segment. Safe to call twice.
   */
  close(): Promise<StreamCheck>;
}

/**
 * Cross-process throughput in windows: the flood and drain processes of `queueThroughput` are
 * started once and stopped (SIGSTOP) between windows, so that a window costs no process start and
 * a stopped peer takes no CPU from the reference's window. The ring's counters are read only while
 * the peers run (a stopped peer may hold the ring's lock).
 */
export async function openQueueWindows(o: QueueWindowsOptions): Promise<QueueWindows> {
  const peers = await startPeers(o);
  const all = [...peers.floods, ...peers.drains];
  const signal = (s: NodeJS.Signals) => {
    for (const p of all) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(s);
  };
  signal('SIGSTOP');
  let closing: Promise<StreamCheck> | undefined;
  return {
    batch: peers.batch,
    async window({ durationMs, settleMs = 50 }) {
      if (closing) throw new Error('queue windows: window() after close()');
      signal('SIGCONT');
      try {
        await sleep(settleMs);
        const t0 = process.hrtime.bigint();
        const out0 = peers.q.stats().messagesOut;
        await sleep(durationMs);
        const count = peers.q.stats().messagesOut - out0;
        const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
        return { count, bytes: count * o.size, elapsedMs };
      } finally {
        signal('SIGSTOP');
      }
    },
    close() {
      closing ??= (async () => {
        signal('SIGCONT');
        return (await stopPeers(peers)).check;
      })();
      return closing;
    },
  };
}
