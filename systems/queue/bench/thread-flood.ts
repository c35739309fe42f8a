// A worker_threads body for bench/threads.ts: awaited puts of stamped messages on the queue named
// in workerData until the stop flag is set or the queue shuts down; posts { sent }.
import { parentPort, workerData } from 'node:worker_threads';
import { Queue } from '../src/queue.ts';
import { MessageStamper, wordBuffer } from './message-check.ts';

const { name, size, stop } = workerData as { name: string; size: number; stop: Int32Array };
const q = Queue.open<Buffer>(name, { mode: 'raw' });
const stamper = new MessageStamper(size);
const { data, words } = wordBuffer(size);
let sent = 0;
try {
  while ((sent & 255) !== 0 || Atomics.load(stop, 0) === 0) {
    stamper.stamp(words, 0, 0, sent);
    await q.put(data);
    sent++;
  }
} catch (error) {
  if ((error as { code?: string }).code !== 'QUEUE_CLOSED') throw error;
}
q.close();
parentPort?.postMessage({ sent });
