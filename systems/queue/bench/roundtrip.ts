import { randomBytes } from 'node:crypto';
import { spawnPeer } from '../src/peers.ts';
import { Queue } from '../src/queue.ts';
import {
  combineReports,
  MessageStamper,
  MessageVerifier,
  type StreamCheck,
  wordBuffer,
} from './message-check.ts';

export interface RoundTripOptions {
  size: number;
  /** Ping-pongs measured (after `warmup` unmeasured ones). */
  count: number;
  warmup?: number;
  /** Spin iterations of both waiters before they sleep on the futex (0 = sleep at once). */
  spin: number;
  /** How this side waits for the reply: `sync` (getIntoSync, this thread) or `async` (await get()). */
  wait?: 'sync' | 'async';
  /** Receives each round trip in nanoseconds. */
  record(ns: number): void;
}

/** A reply that does not come within this long fails the run (a lost message), instead of hanging it. */
const REPLY_TIMEOUT_MS = 30_000;

/**
 * Cross-process ping-pong: this process puts a message on `ping`, an echo peer process returns it
 * on `pong`; one sample per round trip, measured with the monotonic clock. Each ping carries a
 * sequence number and checksum (stamped before the clock starts); each reply is verified after it
 * stops: the verdict over every round trip, warm-up included, is the result.
 */
export async function queueRoundTrip(o: RoundTripOptions): Promise<StreamCheck> {
  const stamper = new MessageStamper(o.size); // a size that cannot be stamped fails before any process starts
  const verifier = new MessageVerifier({ size: o.size, producers: 1, order: 'exact' });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const ping = Queue.create<Buffer>(`rtt-ping-${tag}`, { capacityBytes: 1 << 20, mode: 'raw', spin: o.spin });
  const pong = Queue.create<Buffer>(`rtt-pong-${tag}`, { capacityBytes: 1 << 20, mode: 'raw', spin: o.spin });
  const echo = spawnPeer('echo', { name: ping.name, reply: pong.name, spin: o.spin });
  try {
    await echo.ready;
    const { data: msg, words: msgWords } = wordBuffer(o.size);
    const { data: target, words: targetWords } = wordBuffer(Math.max(o.size, 64));
    const wait = { timeout: REPLY_TIMEOUT_MS };
    const warmup = o.warmup ?? Math.min(1000, o.count);
    const total = warmup + o.count;
    for (let i = 0; i < total; i++) {
      stamper.stamp(msgWords, 0, 0, i);
      let len: number;
      const start = process.hrtime.bigint();
      ping.putNowait(msg);
      if (o.wait === 'async') {
        const reply = await pong.get(wait);
        if (i >= warmup) o.record(Number(process.hrtime.bigint() - start));
        len = reply.length;
        if (len <= target.length) target.set(reply);
      } else {
        len = pong.getIntoSync(target, wait);
        if (i >= warmup) o.record(Number(process.hrtime.bigint() - start));
      }
      verifier.check(targetWords, 0, len);
    }
    ping.shutdown();
    const exit = await echo.exited;
    if (exit.code !== 0) throw new Error(`echo peer failed (${exit.code ?? exit.signal}): ${exit.stderr}`);
    return combineReports([total], [verifier.report()]);
  } finally {
    echo.kill('SIGKILL');
    ping.destroy();
    pong.destroy();
  }
}
