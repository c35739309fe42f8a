import { randomBytes } from 'node:crypto';
import { spawnPeer } from '../src/peers.ts';
import { Queue } from '../src/queue.ts';
import { fromBuckets, type RateSample } from './types.ts';

export interface QueueThroughputOptions {
  producers: number;
  consumers: number;
  size: number;
  durationMs: number;
  warmupMs: number;
  /** Ring size; default 4 MiB (at least 16 messages). */
  capacityBytes?: number;
  /** Messages per Node-API crossing on both sides (putManyFrom / getManyInto). Default 64. */
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
}

/**
 * Cross-process throughput: `producers` flood processes and `consumers` drain processes on one
 * queue (raw mode, batched); consumer buckets are merged on the shared monotonic clock.
 */
export async function queueThroughput(o: QueueThroughputOptions): Promise<RateSample> {
  const bucketMs = o.bucketMs ?? 50;
  const batch = Math.max(1, Math.min(o.batch ?? 64, Math.floor((1 << 20) / o.size) || 1));
  const capacityBytes = o.capacityBytes ?? Math.max(4 << 20, (o.size + 8) * 16);
  const name = `bench-${process.pid}-${randomBytes(4).toString('hex')}`;
  const q = Queue.create(name, { capacityBytes: Math.ceil(capacityBytes / 8) * 8, mode: 'raw' });
  const spin = o.spin ?? 2000;
  const drains = Array.from({ length: o.consumers }, (_, id) =>
    spawnPeer<DrainResult>('drain', { name, id, size: o.size, batch, spin, bucketMs }),
  );
  const floods: ReturnType<typeof spawnPeer>[] = [];
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
    for (const p of [...floods, ...drains]) {
      const exit = await p.exited;
      if (exit.code !== 0)
        throw new Error(`${p.role} peer failed (${exit.code ?? exit.signal}): ${exit.stderr}`);
      if (p.role !== 'drain') continue;
      const r = exit.result as DrainResult;
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
    return fromBuckets(merged.slice(0, skip + windowBuckets + 1), bucketMs, o.warmupMs, o.size);
  } finally {
    for (const p of [...drains, ...floods]) p.kill('SIGKILL');
    q.destroy();
  }
}
