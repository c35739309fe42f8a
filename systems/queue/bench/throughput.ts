import { randomBytes } from 'node:crypto';
import { type Peer, spawnPeer } from '../src/peers.ts';
import { Queue } from '../src/queue.ts';
import { assertStampable, combineReports, type StreamCheck, type VerifierReport } from './message-check.ts';
import { fromBuckets, type RateSample } from './types.ts';

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
  /** Messages per Node-API call that ran (1: one put and one get call per message). */
  batch: number;
  /** Every message stamped by its flood process and verified by the drain that got it. */
  check: StreamCheck;
}

/**
 * Cross-process throughput: `producers` flood processes and `consumers` drain processes on one
 * queue (raw mode, batched); consumer buckets are merged on the shared monotonic clock. Floods
 * stamp a sequence number and checksum into every message, drains verify each one; `check` holds
 * the verdict (sent, received, mismatches).
 */
export async function queueThroughput(o: QueueThroughputOptions): Promise<QueueRateSample> {
  assertStampable(o.size); // before any process starts
  const bucketMs = o.bucketMs ?? 50;
  const batch = Math.max(1, Math.min(o.batch ?? 64, Math.floor((1 << 20) / o.size) || 1));
  const capacityBytes = o.capacityBytes ?? Math.max(4 << 20, (o.size + 8) * 16);
  const name = `bench-${process.pid}-${randomBytes(4).toString('hex')}`;
  const q = Queue.create(name, { capacityBytes: Math.ceil(capacityBytes / 8) * 8, mode: 'raw' });
  const spin = o.spin ?? 2000;
  const drains = Array.from({ length: o.consumers }, (_, id) =>
    spawnPeer<DrainResult>('drain', {
      name,
      id,
      size: o.size,
      batch,
      spin,
      bucketMs,
      producers: o.producers,
      consumers: o.consumers,
    }),
  );
  const floods: Peer<{ sent: number }>[] = [];
  try {
    await Promise.all(drains.map((d) => d.ready));
    for (let id = 0; id < o.producers; id++) {
      // floods run until shutdown(): the window is timed here, once every peer is running
      floods.push(spawnPeer('flood', { name, id, size: o.size, batch, spin, durationMs: 1e9 }));
    }
    await Promise.all(floods.map((f) => f.ready));
    const startNs = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, o.warmupMs + o.durationMs + bucketMs));
    q.shutdown();
    const merged: number[] = [];
    const sent: number[] = [];
    const reports: VerifierReport[] = [];
    for (const p of [...floods, ...drains]) {
      const exit = await p.exited;
      if (exit.code !== 0)
        throw new Error(`${p.role} peer failed (${exit.code ?? exit.signal}): ${exit.stderr}`);
      if (p.role === 'flood') sent.push((exit.result as { sent: number }).sent);
      if (p.role !== 'drain') continue;
      const r = exit.result as DrainResult;
      reports.push(r.check);
      const offset = Number((BigInt(r.startNs) - startNs) / BigInt(bucketMs * 1_000_000));
      r.buckets.forEach((n, i) => {
        const at = offset + i;
        if (at < 0) return;
        while (merged.length <= at) merged.push(0);
        merged[at]! += n;
      });
    }
    const windowBuckets = Math.max(1, Math.round(o.durationMs / bucketMs));
    const skip = Math.ceil(o.warmupMs / bucketMs);
    return {
      ...fromBuckets(merged.slice(0, skip + windowBuckets + 1), bucketMs, o.warmupMs, o.size),
      batch,
      check: combineReports(sent, reports),
    };
  } finally {
    for (const p of [...drains, ...floods]) p.kill('SIGKILL');
    q.destroy();
  }
}
