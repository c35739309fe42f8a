// Same-run references for the queue's figures: worker_threads postMessage, a Unix-domain socket
// to a child process, and a plain memcpy (Buffer.copy) of the same bytes.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { MessageStamper, MessageVerifier, type StreamCheck } from './message-check.ts';
import { spawnRefPeer } from './ref-process.ts';
import { BucketCounter, type RateOptions, type RateSample, type WindowSample } from './types.ts';

const CREDIT = 1024;

const FLOOD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const msg = new Uint8Array(workerData.size);
let credit = ${CREDIT * 4};
let stop = false;
parentPort.on('message', (m) => { if (m === 'stop') { stop = true; parentPort.close(); } else credit += m; });
function pump() {
  for (let n = 0; credit > 0 && n < 256; n++, credit--) parentPort.postMessage(msg);
  if (!stop) setImmediate(pump);
}
pump();
`;

/** worker_threads postMessage: a worker posts `size`-byte Uint8Arrays (credit-based flow control). */
export async function postMessageThroughput(o: RateOptions): Promise<RateSample> {
  const counter = new BucketCounter(o.bucketMs ?? 50, o.warmupMs);
  const worker = new Worker(FLOOD_WORKER, { eval: true, workerData: { size: o.size } });
  let received = 0;
  worker.on('message', () => {
    received++;
    if (received % CREDIT === 0) {
      counter.add(CREDIT);
      worker.postMessage(CREDIT);
    }
  });
  await new Promise((r) => setTimeout(r, o.warmupMs + o.durationMs + (o.bucketMs ?? 50)));
  worker.postMessage('stop');
  await worker.terminate();
  return counter.result(o.size);
}

const WINDOWED_FLOOD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const msg = new Uint8Array(workerData.size);
let credit = ${CREDIT * 4};
let running = false;
let looping = false;
function pump() {
  if (!running) { looping = false; return; }
  for (let n = 0; credit > 0 && n < 256; n++, credit--) parentPort.postMessage(msg);
  setImmediate(pump);
}
parentPort.on('message', (m) => {
  if (m === 'stop') parentPort.close();
  else if (m === 'run') { running = true; if (!looping) { looping = true; setImmediate(pump); } }
  else if (m === 'pause') { running = false; parentPort.postMessage('paused'); }
  else credit += m;
});
`;

/** The postMessage reference started once and posting only inside its windows. */
export interface PostMessageWindows {
  /**
   * Lets the worker post for `settleMs` uncounted, counts the messages received over `durationMs`,
   * then pauses it and waits until every message it posted has arrived.
   */
  window(o: { durationMs: number; settleMs?: number }): Promise<WindowSample>;
  /** Ends the worker. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * `postMessageThroughput` in windows: one worker posts `size`-byte Uint8Arrays under the same
 * credit flow control while a window runs, and idles between windows (no CPU taken from the
 * windows it is paired with).
 */
export function openPostMessageWindows(o: { size: number }): PostMessageWindows {
  const worker = new Worker(WINDOWED_FLOOD_WORKER, { eval: true, workerData: { size: o.size } });
  let received = 0;
  let paused: (() => void) | undefined;
  let failed: Error | undefined;
  worker.on('error', (error) => {
    failed = error;
    paused?.();
  });
  worker.on('message', (m) => {
    if (m === 'paused') {
      paused?.();
      return;
    }
    received++;
    if (received % CREDIT === 0) worker.postMessage(CREDIT);
  });
  /** Pauses the worker; resolves once every message it posted before pausing has arrived. */
  const pause = async () => {
    if (failed) return;
    const idle = new Promise<void>((resolve) => {
      paused = resolve;
    });
    worker.postMessage('pause');
    await idle;
  };
  let closing: Promise<void> | undefined;
  return {
    async window({ durationMs, settleMs = 50 }) {
      if (closing || failed) throw failed ?? new Error('postMessage windows: window() after close()');
      worker.postMessage('run');
      let count: number;
      let elapsedMs: number;
      try {
        await sleep(settleMs);
        const t0 = process.hrtime.bigint();
        const from = received;
        await sleep(durationMs);
        count = received - from;
        elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
      } finally {
        await pause();
      }
      if (failed) throw failed;
      return { count, bytes: count * o.size, elapsedMs };
    },
    close() {
      closing ??= (async () => {
        worker.postMessage('stop');
        await worker.terminate();
      })();
      return closing;
    },
  };
}

const ECHO_WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => { if (m === 'stop') parentPort.close(); else parentPort.postMessage(m); });
`;

/** worker_threads postMessage ping-pong: one sample per round trip. */
export async function postMessageRoundTrip(o: { size: number; count: number; record(ns: number): void }) {
  const worker = new Worker(ECHO_WORKER, { eval: true });
  const msg = new Uint8Array(o.size);
  const warmup = Math.min(500, o.count);
  try {
    for (let i = 0; i < warmup + o.count; i++) {
      const start = process.hrtime.bigint();
      const reply = new Promise((r) => worker.once('message', r));
      worker.postMessage(msg);
      await reply;
      if (i >= warmup) o.record(Number(process.hrtime.bigint() - start));
    }
  } finally {
    await worker.terminate();
  }
}

const UDS_WRITER = `
const net = require('node:net');
const [sock, size] = [process.argv[1], Number(process.argv[2])];
const chunk = Buffer.alloc(size * Math.max(1, Math.floor(65536 / size)), 0x5a);
const s = net.connect(sock, () => { const w = () => { while (s.write(chunk)); }; s.on('drain', w); w(); });
s.on('error', () => process.exit(0));
`;

/** A Unix-domain socket from a child process: fixed-size messages written back to back. */
export async function udsThroughput(o: RateOptions): Promise<RateSample> {
  const sock = path.join(tmpdir(), `rig-queue-uds-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
  const counter = new BucketCounter(o.bucketMs ?? 50, o.warmupMs);
  let pendingBytes = 0;
  const server = createServer((conn) => {
    conn.on('data', (d: Buffer) => {
      pendingBytes += d.length;
      const messages = Math.floor(pendingBytes / o.size);
      pendingBytes -= messages * o.size;
      counter.add(messages);
    });
    conn.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(sock, r));
  const child = spawn(process.execPath, ['-e', UDS_WRITER, sock, String(o.size)], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, o.warmupMs + o.durationMs + (o.bucketMs ?? 50)));
    return counter.result(o.size);
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => server.close(r));
    rmSync(sock, { force: true });
  }
}

/**
 * A Unix-domain socket carrying messages: a child process writes `[u32 length][message]` frames
 * (stamped messages, packed into writes of about 64 KiB); this process decodes every frame, verifies
 * its message (length, checksum, next sequence number) and counts it. `check.sent` is what arrived
 * (the writer is killed mid-stream), so only mismatches fail it.
 */
export async function udsFramedThroughput(o: RateOptions): Promise<RateSample & { check: StreamCheck }> {
  new MessageStamper(o.size); // a size that cannot be stamped fails before any process starts
  const sock = path.join(tmpdir(), `rig-queue-udsf-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
  let counter: BucketCounter | undefined; // from the moment the writer runs
  const verifier = new MessageVerifier({ size: o.size, producers: 1, order: 'exact' });
  const memory = new ArrayBuffer(Math.ceil(Math.max(o.size, 4) / 4) * 4);
  const msg = Buffer.from(memory);
  const words = new Uint32Array(memory);
  let carry: Buffer = Buffer.alloc(0);
  const server = createServer((conn) => {
    conn.on('data', (d: Buffer) => {
      const buf = carry.length > 0 ? Buffer.concat([carry, d]) : d;
      let at = 0;
      let n = 0;
      while (buf.length - at >= 4) {
        const len = buf.readUInt32LE(at);
        if (buf.length - at - 4 < len) break;
        if (len <= msg.length) buf.copy(msg, 0, at + 4, at + 4 + len);
        verifier.check(words, 0, len);
        at += 4 + len;
        n++;
      }
      carry = at < buf.length ? Buffer.from(buf.subarray(at)) : Buffer.alloc(0);
      counter?.add(n);
    });
    conn.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(sock, r));
  const child = spawnRefPeer('uds-frames', [sock, o.size]);
  try {
    await child.ready;
    const counted = new BucketCounter(o.bucketMs ?? 50, o.warmupMs);
    counter = counted;
    await new Promise((r) => setTimeout(r, o.warmupMs + o.durationMs + (o.bucketMs ?? 50)));
    const report = verifier.report();
    return {
      ...counted.result(o.size),
      check: {
        sent: report.received,
        received: report.received,
        mismatches: report.mismatches,
        first: report.first,
      },
    };
  } finally {
    child.kill();
    await new Promise((r) => server.close(r));
    rmSync(sock, { force: true });
  }
}

/** A plain memcpy: Buffer.copy of `size` bytes in a loop on this thread. */
export function memcpyThroughput(o: RateOptions): RateSample {
  const counter = new BucketCounter(o.bucketMs ?? 50, o.warmupMs);
  const src = Buffer.alloc(o.size, 0x5a);
  const dst = Buffer.alloc(o.size);
  const inner = Math.max(1, Math.floor(65536 / o.size));
  const end = o.warmupMs + o.durationMs + (o.bucketMs ?? 50);
  while (counter.elapsedMs() < end) {
    for (let i = 0; i < inner; i++) src.copy(dst, 0, 0, o.size);
    counter.add(inner);
  }
  return counter.result(o.size);
}
