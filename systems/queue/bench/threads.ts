// One process, two threads: a worker thread awaits put() and the main thread awaits get(), the
// queue's in-process figure beside worker_threads postMessage between the same two threads.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Queue } from '../src/queue.ts';
import {
  assertStampable,
  combineReports,
  MessageVerifier,
  type StreamCheck,
  wordBuffer,
} from './message-check.ts';
import { BucketCounter, type RateOptions, type RateSample, summariseUse, type UseSummary } from './types.ts';

export interface ThreadRateSample extends RateSample {
  check: StreamCheck;
  /** Ring use (usedBytes / capacity) sampled every bucket while the window ran. */
  utilisation: UseSummary;
}

const WORKER = path.join(import.meta.dirname, 'thread-flood.ts');

/** A worker thread put()s stamped messages, this thread get()s and verifies each one. */
export async function queueThreadsThroughput(
  o: RateOptions & { capacityBytes?: number },
): Promise<ThreadRateSample> {
  assertStampable(o.size);
  const bucketMs = o.bucketMs ?? 50;
  const name = `threads-${process.pid}-${randomBytes(4).toString('hex')}`;
  const q = Queue.create<Buffer>(name, { capacityBytes: o.capacityBytes ?? 4 << 20, mode: 'raw' });
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then(({ tsImport }) => tsImport(${JSON.stringify(WORKER)}, ${JSON.stringify(import.meta.url)}))`;
  const worker = new Worker(code, { eval: true, workerData: { name, size: o.size, stop } });
  const sent = new Promise<number>((resolve, reject) => {
    worker.once('message', (m: { sent: number }) => resolve(m.sent));
    worker.once('error', reject);
    worker.once('exit', (c) => reject(new Error(`thread flood exited (${c}) before reporting`)));
  });
  const { data: target, words } = wordBuffer(Math.max(64, o.size));
  const verifier = new MessageVerifier({ size: o.size, producers: 1, order: 'exact' });
  try {
    // the worker starts through tsx: wait for its first message before the clock starts
    await q.get().then((m) => {
      target.set(m);
      verifier.check(words, 0, m.length);
    });
    const counter = new BucketCounter(bucketMs, o.warmupMs);
    const endAt = counter.elapsedMs() + o.warmupMs + o.durationMs + bucketMs;
    const use: number[] = [];
    let nextSample = o.warmupMs;
    while (counter.elapsedMs() < endAt) {
      for (let i = 0; i < 256; i++) {
        const m = await q.get();
        if (m.length <= target.length) target.set(m);
        verifier.check(words, 0, m.length);
      }
      counter.add(256);
      const now = counter.elapsedMs();
      if (now >= nextSample) {
        use.push(q.stats().utilisation);
        nextSample = now + bucketMs;
      }
    }
    Atomics.store(stop, 0, 1);
    // drain what the worker put before it saw the flag, then collect its count
    for (;;) {
      const [m] = q.getManyNowait(1);
      if (m === undefined) {
        if (worker.threadId < 0) break;
        const done = await Promise.race([sent.then(() => true), new Promise((r) => setTimeout(r, 5, false))]);
        if (done && q.qsize() === 0) break;
        continue;
      }
      if (m.length <= target.length) target.set(m);
      verifier.check(words, 0, m.length);
    }
    const total = await sent;
    return {
      ...counter.result(o.size),
      check: combineReports([total], [verifier.report()]),
      utilisation: summariseUse(use),
    };
  } finally {
    Atomics.store(stop, 0, 1);
    q.shutdown();
    await worker.terminate();
    q.destroy();
  }
}
