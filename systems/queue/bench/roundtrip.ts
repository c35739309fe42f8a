import { randomBytes } from 'node:crypto';
import { spawnPeer } from '../src/peers.ts';
import { Queue } from '../src/queue.ts';

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

/**
 * Cross-process ping-pong: this process puts a message on `ping`, an echo peer process returns it
 * on `pong`; one sample per round trip, measured with the monotonic clock.
 */
export async function queueRoundTrip(o: RoundTripOptions): Promise<void> {
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const ping = Queue.create<Buffer>(`rtt-ping-${tag}`, { capacityBytes: 1 << 20, mode: 'raw', spin: o.spin });
  const pong = Queue.create<Buffer>(`rtt-pong-${tag}`, { capacityBytes: 1 << 20, mode: 'raw', spin: o.spin });
  const echo = spawnPeer('echo', { name: ping.name, reply: pong.name, spin: o.spin });
  try {
    await echo.ready;
    const msg = Buffer.alloc(o.size, 1);
    const target = Buffer.alloc(Math.max(o.size, 64));
    const warmup = o.warmup ?? Math.min(1000, o.count);
    for (let i = 0; i < warmup + o.count; i++) {
      const start = process.hrtime.bigint();
      ping.putNowait(msg);
      if (o.wait === 'async') await pong.get();
      else pong.getIntoSync(target);
      if (i >= warmup) o.record(Number(process.hrtime.bigint() - start));
    }
    ping.shutdown();
    const exit = await echo.exited;
    if (exit.code !== 0) throw new Error(`echo peer failed (${exit.code ?? exit.signal}): ${exit.stderr}`);
  } finally {
    echo.kill('SIGKILL');
    ping.destroy();
    pong.destroy();
  }
}
