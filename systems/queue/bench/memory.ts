import { randomBytes } from 'node:crypto';
import { QueueFull } from '../errors.ts';
import { Queue } from '../src/queue.ts';

export interface MemoryEfficiency {
  capacityBytes: number;
  size: number;
  messages: number;
  payloadBytes: number;
  /** payloadBytes / capacityBytes, 0..1. */
  efficiency: number;
}

/** Fills a queue of `capacityBytes` with `size`-byte messages until full: payload held / capacity. */
export function memoryEfficiency(capacityBytes: number, size: number): MemoryEfficiency {
  const q = Queue.create<Buffer>(`mem-${process.pid}-${randomBytes(4).toString('hex')}`, {
    capacityBytes,
    mode: 'raw',
  });
  try {
    const msg = Buffer.alloc(size);
    for (;;) {
      try {
        q.putNowait(msg);
      } catch (error) {
        if (error instanceof QueueFull) break;
        throw error;
      }
    }
    const s = q.stats();
    return {
      capacityBytes,
      size,
      messages: s.count,
      payloadBytes: s.payloadBytes,
      efficiency: s.payloadBytes / capacityBytes,
    };
  } finally {
    q.destroy();
  }
}
