// Instruction-count workloads of the shared-memory queue (suites/instructions/queue.instructions.test.ts):
// one process puts and takes through systems/queue/index.ts, so the count covers the TypeScript
// API, the Node-API crossing and the C core. Each setup creates one segment; teardown destroys it.
import { operation } from '../../../harness/index.ts';
import { Queue } from '../../../systems/queue/index.ts';

/** Segment names start with this and the creating pid (the suite removes those of dead processes). */
export const NAME_PREFIX = 'instr-';

/** The name prefix of one process's segments (the pid padded, so that every name has one length). */
export function prefixOf(pid: number): string {
  return `${NAME_PREFIX}${String(pid).padStart(7, '0')}-`;
}

function name(variant: string): string {
  return `${prefixOf(process.pid)}${variant}`;
}

interface Raw {
  q: Queue<Uint8Array>;
  msg: Buffer;
  into: Buffer;
}

/** One raw put + getInto pair of `size` bytes: the fast path with a reused target buffer. */
function rawPair(size: number, n: number) {
  return operation<Raw>({
    setup: () => ({
      q: Queue.create<Uint8Array>(name(`raw${size}`), { mode: 'raw', capacityBytes: 1 << 20 }),
      msg: Buffer.alloc(size, 0x5a),
      into: Buffer.alloc(size),
    }),
    run: (s) => {
      s.q.putNowait(s.msg);
      s.q.getInto(s.into);
    },
    teardown: (s) => s.q.destroy(),
    n,
    warmup: 100_000,
  });
}

/**
 * A small flat job object, built afresh for every put as a producer would. node:v8's serializer
 * tracks the objects it writes in a table hashed by heap address: one long-lived object (or a
 * nested one) made the count depend on where it happened to sit, by up to 0.8% between otherwise
 * identical runs; a fresh object per call lands at a new address each time, which averages out.
 */
const JOB = { id: 12345, kind: 'resize', w: 640, h: 480, tag: 'thumbnail', at: 1.5 };

export const operations = {
  'raw.64B': rawPair(64, 20_000),
  'raw.4KiB': rawPair(4096, 20_000),
  'value.small': operation<Queue<typeof JOB>>({
    setup: () => Queue.create<typeof JOB>(name('value'), { mode: 'value', capacityBytes: 1 << 20 }),
    run: (q) => {
      q.putNowait({ ...JOB });
      q.getNowait();
    },
    teardown: (q) => q.destroy(),
    n: 10_000,
    warmup: 60_000,
  }),
};
