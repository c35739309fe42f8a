// The far ends of the queue's same-run references, each in its own process:
//   push <endpoint> <size> <run-ms>   ZeroMQ Push: `await send()` of stamped messages for run-ms,
//                                     then an empty message (the end); stays until killed
//   pull <endpoint> <size> <bucket-ms> ZeroMQ Pull: `for await` receive, verifies every message,
//                                     counts per bucket-ms until the empty message
//   rep <endpoint>                    ZeroMQ Reply: returns every request until the process is killed
//   uds-frames <path> <size>          a Unix-socket client writing [u32 length][message] frames
//                                     (stamped messages) until the process is killed
// `node --import tsx ref-peer.ts <role> ...`; ready and the result are JSON lines on stdout.
import { connect } from 'node:net';
import { MessageStamper, MessageVerifier, wordBuffer } from '../bench/message-check.ts';

const [role, where = '', a = '0', b = '0'] = process.argv.slice(2);

function line(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * Push: one message per awaited send. zeromq.js copies a Buffer of up to 128 B and sends a larger
 * one without copying (it holds the Buffer until libzmq is done), so larger messages get a fresh
 * Buffer each, as a user's code would; smaller ones reuse one.
 */
async function push(): Promise<void> {
  const zmq = await import('zeromq');
  const size = Number(a);
  const runNs = BigInt(Number(b)) * 1_000_000n;
  const stamper = new MessageStamper(size);
  const sock = new zmq.Push({ linger: 10_000, sendHighWaterMark: 1000 });
  sock.connect(where);
  let msg = wordBuffer(size);
  line({ ready: true });
  const end = process.hrtime.bigint() + runNs;
  let sent = 0;
  for (;;) {
    if ((sent & 255) === 0 && process.hrtime.bigint() >= end) break;
    if (size > 128) msg = wordBuffer(size);
    stamper.stamp(msg.words, 0, 0, sent);
    await sock.send(msg.data);
    sent++;
  }
  await sock.send(Buffer.alloc(0));
  line({ sent });
  // stays connected until killed: libzmq may still be flushing when the process would exit
  setInterval(() => {}, 60_000);
}

/** Pull: verifies each message (copied into a word-aligned buffer) and counts it per bucket. */
async function pull(): Promise<void> {
  const zmq = await import('zeromq');
  const size = Number(a);
  const bucketNs = BigInt(Number(b)) * 1_000_000n;
  const verifier = new MessageVerifier({ size, producers: 1, order: 'exact' });
  const sock = new zmq.Pull({ linger: 0, receiveHighWaterMark: 1000 });
  await sock.bind(where);
  const target = wordBuffer(Math.max(size, 64));
  const buckets: number[] = [];
  const start = process.hrtime.bigint();
  line({ ready: true });
  let got = 0;
  let counted = 0;
  // counted every 64 messages, as the queue's await drain does
  const count = () => {
    const at = Number((process.hrtime.bigint() - start) / bucketNs);
    while (buckets.length <= at) buckets.push(0);
    buckets[at]! += got - counted;
    counted = got;
  };
  for await (const [msg] of sock) {
    if (msg === undefined || msg.length === 0) break;
    // a wrong length fails the check before any word is read
    if (msg.length <= target.data.length) msg.copy(target.data);
    verifier.check(target.words, 0, msg.length);
    if ((++got & 63) === 0) count();
  }
  count();
  sock.close();
  line({ got, startNs: start.toString(), buckets, check: verifier.report() });
}

/** Reply: echoes every request. */
async function rep(): Promise<void> {
  const zmq = await import('zeromq');
  const sock = new zmq.Reply({ linger: 0 });
  await sock.bind(where);
  line({ ready: true });
  for await (const [msg] of sock) await sock.send(msg ?? Buffer.alloc(0));
}

/** A stream of length-prefixed frames, packed into writes of about 64 KiB, until killed. */
function udsFrames(): void {
  const size = Number(a);
  const stamper = new MessageStamper(size);
  const frame = 4 + size;
  const perWrite = Math.max(1, Math.floor(65536 / frame));
  const msg = wordBuffer(size);
  const s = connect(where, () => {
    line({ ready: true });
    let seq = 0;
    const fill = () => {
      for (;;) {
        // a fresh chunk per write: the socket may still hold the last one
        const out = Buffer.allocUnsafe(perWrite * frame);
        for (let i = 0; i < perWrite; i++) {
          stamper.stamp(msg.words, 0, 0, seq++);
          out.writeUInt32LE(size, i * frame);
          msg.data.copy(out, i * frame + 4);
        }
        if (!s.write(out)) return;
      }
    };
    s.on('drain', fill);
    fill();
  });
  s.on('error', () => process.exit(0));
}

const roles: Record<string, () => unknown> = { push, pull, rep, 'uds-frames': udsFrames };
const run = roles[role ?? ''];
if (!run) {
  process.stderr.write(`ref-peer: unknown role ${role}; expected one of ${Object.keys(roles).join(', ')}\n`);
  process.exit(2);
}
await run();
