// ZeroMQ (the `zeromq` npm package, a dev dependency) as a same-run reference: what a Node team
// would reach for first to move messages between processes on one machine. Push/Pull and
// Request/Reply over ipc://, the socket file in a temp dir removed afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  combineReports,
  MessageStamper,
  MessageVerifier,
  type StreamCheck,
  type VerifierReport,
  wordBuffer,
} from './message-check.ts';
import { spawnRefPeer } from './ref-process.ts';
import { mergePeerBuckets, type RateOptions, type RateSample } from './types.ts';

/** Why ZeroMQ cannot be used here (the package is absent or its binary does not load), or undefined. */
export async function zeromqUnavailableReason(): Promise<string | undefined> {
  try {
    const zmq = await import('zeromq');
    if (typeof zmq.Push !== 'function') return 'the zeromq package has no Push socket (zeromq 6 expected)';
    return undefined;
  } catch (error) {
    return `the zeromq package does not load: ${(error as Error).message.split('\n')[0]}`;
  }
}

/** The zeromq package's version and libzmq's, for a figure's method. */
export async function zeromqVersion(): Promise<string> {
  const zmq = await import('zeromq');
  return `libzmq ${zmq.version}`;
}

function ipcDir(): { dir: string; endpoint: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'rig-zmq-'));
  return { dir, endpoint: `ipc://${path.join(dir, 'q.sock')}` };
}

export interface ZeromqRateSample extends RateSample {
  /** Every message stamped by the Push process and verified by the Pull process. */
  check: StreamCheck;
}

interface PullResult {
  got: number;
  startNs: string;
  buckets: number[];
  check: VerifierReport;
}

/**
 * One Push process (`await send()` per message) and one Pull process (`for await` receive) over
 * ipc://, counted by the Pull per bucket on the shared monotonic clock; the window starts when
 * both are running.
 */
export async function zeromqThroughput(o: RateOptions): Promise<ZeromqRateSample> {
  const bucketMs = o.bucketMs ?? 50;
  new MessageStamper(o.size); // a size that cannot be stamped fails before any process starts
  const { dir, endpoint } = ipcDir();
  const pull = spawnRefPeer<PullResult>('pull', [endpoint, o.size, bucketMs]);
  let push: ReturnType<typeof spawnRefPeer<{ sent: number }>> | undefined;
  try {
    await pull.ready;
    push = spawnRefPeer<{ sent: number }>('push', [
      endpoint,
      o.size,
      o.warmupMs + o.durationMs + 2 * bucketMs,
    ]);
    await push.ready;
    const startNs = process.hrtime.bigint();
    const [{ sent }, drained] = await Promise.all([push.result, pull.result]);
    return {
      ...mergePeerBuckets([drained], startNs, { ...o, bucketMs }),
      check: combineReports([sent], [drained.check]),
    };
  } finally {
    push?.kill();
    pull.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A reply that does not come within this long fails the run instead of hanging it. */
const REPLY_TIMEOUT_MS = 30_000;

/**
 * Request/Reply ping-pong: this process sends a stamped message and awaits the reply from a Reply
 * process; one sample per round trip; every reply verified after its sample.
 */
export async function zeromqRoundTrip(o: {
  size: number;
  count: number;
  warmup?: number;
  record(ns: number): void;
}): Promise<StreamCheck> {
  const zmq = await import('zeromq');
  const stamper = new MessageStamper(o.size);
  const verifier = new MessageVerifier({ size: o.size, producers: 1, order: 'exact' });
  const { dir, endpoint } = ipcDir();
  const rep = spawnRefPeer('rep', [endpoint]);
  const req = new zmq.Request({ linger: 0, receiveTimeout: REPLY_TIMEOUT_MS });
  try {
    await rep.ready;
    req.connect(endpoint);
    const { data: msg, words: msgWords } = wordBuffer(o.size);
    const { data: target, words: targetWords } = wordBuffer(Math.max(o.size, 64));
    const warmup = o.warmup ?? Math.min(1000, o.count);
    const total = warmup + o.count;
    for (let i = 0; i < total; i++) {
      stamper.stamp(msgWords, 0, 0, i);
      const start = process.hrtime.bigint();
      await req.send(msg);
      const [reply] = await req.receive();
      if (i >= warmup) o.record(Number(process.hrtime.bigint() - start));
      const len = reply?.length ?? 0;
      if (reply && len <= target.length) reply.copy(target);
      verifier.check(targetWords, 0, len);
    }
    return combineReports([total], [verifier.report()]);
  } finally {
    req.close();
    rep.kill();
    await sleep(0);
    rmSync(dir, { recursive: true, force: true });
  }
}
