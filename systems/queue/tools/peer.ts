// A queue peer process: the producer, consumer and echo loops that the producer-consumer, fault
// and benchmark suites run in separate processes. `node --import tsx peer.ts <role> [--options]`.
// Messages are raw: [u32 producer id][u32 sequence number][padding to --size]; flood stamps a
// checksum and a derived payload after them too (bench/message-check.ts), which drain verifies.
// The result (JSON) goes to --out when given.
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { MessageStamper, MessageVerifier, wordBuffer } from '../bench/message-check.ts';
import { Queue } from '../index.ts';

const ArgsSchema = z
  .object({
    role: z.enum(['produce', 'consume', 'echo', 'flood', 'drain', 'hold-lock', 'put-timed', 'get-timed']),
    name: z.string().min(1),
    reply: z.string().optional(),
    id: z.coerce.number().int().min(0).default(0),
    count: z.coerce.number().int().min(0).default(0),
    size: z.coerce.number().int().min(8).default(64),
    batch: z.coerce.number().int().min(1).max(4096).default(1),
    api: z.enum(['batch', 'await', 'await-value']).default('batch'),
    producers: z.coerce.number().int().min(1).default(1),
    consumers: z.coerce.number().int().min(1).default(1),
    spin: z.coerce.number().int().min(0).default(200),
    'duration-ms': z.coerce.number().int().min(0).default(0),
    'bucket-ms': z.coerce.number().int().min(1).default(50),
    'pause-every': z.coerce.number().int().min(0).default(0),
    'pause-ms': z.coerce.number().min(0).default(0),
    log: z.string().optional(),
    out: z.string().optional(),
  })
  .strict();

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: Object.fromEntries(
    [
      'name',
      'reply',
      'id',
      'count',
      'size',
      'batch',
      'api',
      'producers',
      'consumers',
      'spin',
      'duration-ms',
      'bucket-ms',
      'pause-every',
      'pause-ms',
      'log',
      'out',
    ].map((k) => [k, { type: 'string' as const }]),
  ),
});
const args = ArgsSchema.parse({ role: positionals[0], ...values });

/** Tells the parent (spawnPeer's `ready`) that the queue is open and the loop starts. */
function ready(): void {
  writeSync(1, '{"ready":true}\n');
}

function isClosed(error: unknown): boolean {
  return (error as { code?: string }).code === 'QUEUE_CLOSED';
}

function nowNs(): bigint {
  return process.hrtime.bigint();
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** produce: `count` numbered messages, blocking while full; each acknowledged put is logged (u32). */
function produce(): unknown {
  const q = Queue.open<Buffer>(args.name, { mode: 'raw', spin: args.spin });
  const log = args.log ? openSync(args.log, 'a') : undefined;
  const msg = Buffer.alloc(args.size);
  msg.writeUInt32LE(args.id, 0);
  const ack = Buffer.alloc(4);
  let sent = 0;
  ready();
  try {
    for (; sent < args.count; sent++) {
      msg.writeUInt32LE(sent, 4);
      q.putSync(msg);
      if (log !== undefined) {
        ack.writeUInt32LE(sent, 0);
        writeSync(log, ack);
      }
      if (args['pause-every'] && sent % args['pause-every'] === 0)
        Atomics.wait(sleeper, 0, 0, args['pause-ms']);
    }
  } catch (error) {
    if (!isClosed(error)) throw error;
  }
  if (log !== undefined) closeSync(log);
  q.close();
  return { sent };
}

/** consume: gets until shutdown+drained; logs every message (u32 id, u32 seq) as it arrives. */
function consume(): unknown {
  const q = Queue.open<Buffer>(args.name, { mode: 'raw', spin: args.spin });
  const log = args.log ? openSync(args.log, 'a') : undefined;
  const target = Buffer.alloc(Math.max(args.size, q.maxMessageBytes));
  let got = 0;
  const seen: number[] = [];
  ready();
  for (;;) {
    try {
      q.getIntoSync(target);
    } catch (error) {
      if (isClosed(error)) break;
      throw error;
    }
    got++;
    if (log !== undefined) writeSync(log, target, 0, 8);
    else seen.push(target.readUInt32LE(0), target.readUInt32LE(4));
  }
  if (log !== undefined) closeSync(log);
  q.close();
  return { got, seen };
}

/** echo: returns every message of --name on --reply until shutdown (the far end of a ping-pong). */
function echo(): unknown {
  const q = Queue.open<Buffer>(args.name, { mode: 'raw', spin: args.spin });
  const r = Queue.open<Buffer>(args.reply ?? '', { mode: 'raw', spin: args.spin });
  const target = Buffer.alloc(q.maxMessageBytes);
  let n = 0;
  ready();
  for (;;) {
    let len: number;
    try {
      len = q.getIntoSync(target);
    } catch (error) {
      if (isClosed(error)) break;
      throw error;
    }
    r.putSync(target.subarray(0, len));
    n++;
  }
  q.close();
  r.close();
  return { echoed: n };
}

/**
 * flood --api await | await-value: one `await q.put(message)` per stamped message (raw mode, or value
 * mode where node:v8 serialises the Buffer), until shutdown or --count.
 */
async function floodAwait(): Promise<unknown> {
  const q = Queue.open<Buffer>(args.name, { mode: args.api === 'await' ? 'raw' : 'value', spin: args.spin });
  const stamper = new MessageStamper(args.size);
  const { data, words } = wordBuffer(args.size);
  ready();
  const end = nowNs() + BigInt(args['duration-ms']) * 1_000_000n;
  let sent = 0;
  try {
    for (;;) {
      if (args.count ? sent >= args.count : (sent & 255) === 0 && nowNs() >= end) break;
      stamper.stamp(words, 0, args.id, sent);
      await q.put(data);
      sent++;
    }
  } catch (error) {
    if (!isClosed(error)) throw error;
  }
  q.close();
  return { sent };
}

/**
 * flood: puts stamped --size messages (producer --id, sequence 0, 1, ..) in batches of --batch for
 * --duration-ms (or --count), blocking while full. Returns how many were put.
 */
function flood(): unknown {
  const q = Queue.open<Buffer>(args.name, { mode: 'raw', spin: args.spin });
  const stamper = new MessageStamper(args.size);
  const { data, words } = wordBuffer(args.size * args.batch);
  const lens = new Uint32Array(args.batch).fill(args.size);
  const one = data.subarray(0, args.size);
  ready();
  const end = nowNs() + BigInt(args['duration-ms']) * 1_000_000n;
  let sent = 0;
  try {
    while (args.count ? sent < args.count : nowNs() < end) {
      // a partial put leaves the rest unsent: restamp the whole batch from the next sequence number
      const n = args.count ? Math.min(args.batch, args.count - sent) : args.batch;
      for (let k = 0; k < n; k++) stamper.stamp(words, k * args.size, args.id, sent + k);
      const put = q.putManyFrom(data, lens, n);
      if (put > 0) sent += put;
      else {
        q.putSync(one); // full: wait for room (spin, then futex)
        sent++;
      }
    }
  } catch (error) {
    if (!isClosed(error)) throw error;
  }
  q.close();
  return { sent };
}

/**
 * drain: gets in batches until shutdown; verifies every message in place (length, checksum, and
 * the next sequence number of its producer: exactly the next with one consumer, increasing with
 * several) and counts messages per --bucket-ms on the shared monotonic clock.
 */
function drain(): unknown {
  const q = Queue.open<Buffer>(args.name, { mode: 'raw', spin: args.spin });
  const { data: target, words } = wordBuffer(Math.max(q.maxMessageBytes, args.size * args.batch));
  const lens = new Uint32Array(args.batch);
  const verifier = new MessageVerifier({
    size: args.size,
    producers: args.producers,
    order: args.consumers === 1 ? 'exact' : 'increasing',
  });
  const bucketNs = BigInt(args['bucket-ms']) * 1_000_000n;
  ready();
  const start = nowNs();
  const buckets: number[] = [];
  let got = 0;
  let bytes = 0;
  for (;;) {
    let n: number;
    try {
      n = q.getManyInto(target, lens);
      if (n === 0) {
        lens[0] = q.getIntoSync(target);
        n = 1;
      }
    } catch (error) {
      if (isClosed(error)) break;
      throw error;
    }
    got += n;
    let offset = 0;
    for (let i = 0; i < n; i++) {
      const len = lens[i]!;
      verifier.check(words, offset, len);
      offset += len;
    }
    bytes += offset;
    const b = Number((nowNs() - start) / bucketNs);
    while (buckets.length <= b) buckets.push(0);
    buckets[b]! += n;
  }
  q.close();
  return {
    got,
    bytes,
    startNs: start.toString(),
    bucketMs: args['bucket-ms'],
    buckets,
    check: verifier.report(),
  };
}

/**
 * drain --api await | await-value: one `await q.get()` per message (a Buffer each), copied into a
 * word-aligned buffer and verified like drain's; counted per --bucket-ms every 64 messages.
 */
async function drainAwait(): Promise<unknown> {
  const q = Queue.open<Buffer>(args.name, { mode: args.api === 'await' ? 'raw' : 'value', spin: args.spin });
  const { data: target, words } = wordBuffer(Math.max(64, args.size));
  const verifier = new MessageVerifier({
    size: args.size,
    producers: args.producers,
    order: args.consumers === 1 ? 'exact' : 'increasing',
  });
  const bucketNs = BigInt(args['bucket-ms']) * 1_000_000n;
  ready();
  const start = nowNs();
  const buckets: number[] = [];
  let got = 0;
  let counted = 0;
  let bytes = 0;
  const count = () => {
    const b = Number((nowNs() - start) / bucketNs);
    while (buckets.length <= b) buckets.push(0);
    buckets[b]! += got - counted;
    counted = got;
  };
  for (;;) {
    let m: Buffer;
    try {
      m = await q.get();
    } catch (error) {
      if (isClosed(error)) break;
      throw error;
    }
    // a wrong length fails the check before any word is read
    if (m.length <= target.length) target.set(m);
    verifier.check(words, 0, m.length);
    bytes += m.length;
    if ((++got & 63) === 0) count();
  }
  count();
  q.close();
  return {
    got,
    bytes,
    startNs: start.toString(),
    bucketMs: args['bucket-ms'],
    buckets,
    check: verifier.report(),
  };
}

/**
 * put-timed: --count awaited puts of stamped --size messages (raw), each timed on its own
 * (process.hrtime.bigint() before and after the awaited call); returns the nanoseconds per put.
 * Run it with a drain consuming, so that the ring has room.
 */
async function putTimed(): Promise<unknown> {
  const q = Queue.open<Buffer>(args.name, { mode: 'raw', spin: args.spin });
  const stamper = new MessageStamper(args.size);
  const { data, words } = wordBuffer(args.size);
  const ns = new Array<number>(args.count);
  ready();
  for (let i = 0; i < args.count; i++) {
    stamper.stamp(words, 0, args.id, i);
    const t0 = nowNs();
    await q.put(data);
    ns[i] = Number(nowNs() - t0);
  }
  q.close();
  return { sent: args.count, ns };
}

/**
 * get-timed: --count awaited gets (raw) from a queue filled beforehand, each timed on its own and
 * verified after its clock stopped (sequence number and checksum); returns the nanoseconds per get.
 */
async function getTimed(): Promise<unknown> {
  const q = Queue.open<Buffer>(args.name, { mode: 'raw', spin: args.spin });
  const { data: target, words } = wordBuffer(Math.max(64, args.size));
  const verifier = new MessageVerifier({ size: args.size, producers: args.producers, order: 'exact' });
  const ns = new Array<number>(args.count);
  ready();
  for (let i = 0; i < args.count; i++) {
    const t0 = nowNs();
    const m = await q.get();
    ns[i] = Number(nowNs() - t0);
    if (m.length <= target.length) target.set(m);
    verifier.check(words, 0, m.length);
  }
  q.close();
  return { ns, check: verifier.report() };
}

/** hold-lock: takes the queue's lock and sleeps (the C side prints {"locked":true}); for SIGKILL tests. */
function holdLock(): unknown {
  const q = Queue.open(args.name);
  return q.injectFault('hold-lock');
}

const roles = {
  produce,
  consume,
  echo,
  flood: args.api === 'batch' ? flood : floodAwait,
  drain: args.api === 'batch' ? drain : drainAwait,
  'hold-lock': holdLock,
  'put-timed': putTimed,
  'get-timed': getTimed,
} as const;
const result = await roles[args.role]();
if (args.out) writeFileSync(args.out, JSON.stringify(result));
