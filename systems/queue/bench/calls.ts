// Per-call cost of put and get across processes, each call timed on its own: put with a consumer
// draining in another process, get from a queue another process filled beforehand. Every message
// is stamped and verified as in the throughput workloads.
import { randomBytes } from 'node:crypto';
import { type Peer, spawnPeer } from '../src/peers.ts';
import { Queue } from '../src/queue.ts';
import { assertStampable, combineReports, type StreamCheck, type VerifierReport } from './message-check.ts';

export interface CallSamples {
  /** Nanoseconds per awaited call, in call order. */
  ns: number[];
  check: StreamCheck;
}

interface CallOptions {
  size: number;
  count: number;
  spin?: number;
}

function openQueue(o: CallOptions): Queue<Buffer> {
  assertStampable(o.size);
  const name = `calls-${process.pid}-${randomBytes(4).toString('hex')}`;
  // room for every message at once: get is measured on a queue filled beforehand
  const capacityBytes = Math.ceil(Math.max(4 << 20, (o.size + 16) * (o.count + 16)) / 8) * 8;
  return Queue.create<Buffer>(name, { capacityBytes, mode: 'raw' });
}

async function finished<R>(peer: Peer<R>): Promise<R> {
  const exit = await peer.exited;
  if (exit.code !== 0 || exit.result === undefined)
    throw new Error(`${peer.role} peer failed (${exit.code ?? exit.signal}): ${exit.stderr}`);
  return exit.result;
}

interface DrainResult {
  check: VerifierReport;
}

/** `count` awaited puts in a producer process, timed each, while a drain process gets them. */
export async function queuePutLatency(o: CallOptions): Promise<CallSamples> {
  const q = openQueue(o);
  const spin = o.spin ?? 2000;
  const peers: Peer<unknown>[] = [];
  try {
    const drain = spawnPeer<DrainResult>('drain', { name: q.name, size: o.size, api: 'await', spin });
    peers.push(drain);
    await drain.ready;
    const put = spawnPeer<{ sent: number; ns: number[] }>('put-timed', {
      name: q.name,
      size: o.size,
      count: o.count,
      spin,
    });
    peers.push(put);
    const { sent, ns } = await finished(put);
    q.shutdown();
    const drained = await finished(drain);
    return { ns, check: combineReports([sent], [drained.check]) };
  } finally {
    for (const p of peers) p.kill('SIGKILL');
    q.destroy();
  }
}

/** `count` awaited gets in a consumer process, timed each, from a queue a flood process filled. */
export async function queueGetLatency(o: CallOptions): Promise<CallSamples> {
  const q = openQueue(o);
  const spin = o.spin ?? 2000;
  const peers: Peer<unknown>[] = [];
  try {
    const flood = spawnPeer<{ sent: number }>('flood', {
      name: q.name,
      size: o.size,
      api: 'await',
      count: o.count,
      spin,
    });
    peers.push(flood);
    const { sent } = await finished(flood);
    const get = spawnPeer<{ ns: number[]; check: VerifierReport }>('get-timed', {
      name: q.name,
      size: o.size,
      count: o.count,
      spin,
    });
    peers.push(get);
    const { ns, check } = await finished(get);
    return { ns, check: combineReports([sent], [check]) };
  } finally {
    for (const p of peers) p.kill('SIGKILL');
    q.destroy();
  }
}
