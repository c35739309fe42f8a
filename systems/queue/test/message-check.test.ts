// The stamp and check that the throughput and round-trip workloads run on every message: a
// corrupted, skipped, duplicated or reordered message must be caught, on crafted buffers, and by
// the drain peer process that the throughput benchmark runs.
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkFailure,
  combineReports,
  describeCheck,
  MessageStamper,
  MessageVerifier,
  type VerifierOptions,
  type VerifierReport,
} from '../bench/message-check.ts';
import { type Peer, spawnPeer } from '../index.ts';
import { useQueues } from './helpers.ts';

/** `messages.length` messages of `size` bytes back to back, stamped with these (producer, seq) pairs. */
function batch(size: number, messages: Array<[producer: number, seq: number]>) {
  const memory = new ArrayBuffer(size * messages.length);
  const words = new Uint32Array(memory);
  const stamper = new MessageStamper(size);
  for (const [k, [producer, seq]] of messages.entries()) stamper.stamp(words, k * size, producer, seq);
  return { bytes: new Uint8Array(memory), words };
}

/** Runs a verifier over the batch; returns its report. */
function verify(
  size: number,
  words: Uint32Array,
  count: number,
  options: Partial<VerifierOptions> = {},
  lens?: number[],
) {
  const v = new MessageVerifier({ size, producers: 1, order: 'exact', ...options });
  let offset = 0;
  for (let k = 0; k < count; k++) {
    const len = lens?.[k] ?? size;
    v.check(words, offset, len);
    offset += len;
  }
  return v.report();
}

describe('message stamp and verifier', () => {
  it('passes intact messages in order, at every size the benchmarks use', () => {
    for (const size of [16, 64, 256, 1024, 4096, 65536]) {
      const seqs: Array<[number, number]> = Array.from({ length: 8 }, (_, i) => [0, i]);
      const { words } = batch(size, seqs);
      const r = verify(size, words, seqs.length);
      expect({ size, mismatches: r.mismatches, first: r.first }).toEqual({
        size,
        mismatches: 0,
        first: null,
      });
      expect(r.received).toBe(8);
      expect(combineReports([8], [r]).mismatches).toBe(0);
    }
  });

  it('derives the payload from the sequence number: two messages differ in every checked word', () => {
    const { words } = batch(64, [
      [0, 0],
      [0, 1],
    ]);
    const differing = Array.from({ length: 16 }, (_, i) => words[i] !== words[16 + i]).filter(Boolean);
    expect(differing.length).toBe(15); // all but the producer id
  });

  it('catches a flipped bit in any byte of a 64 B message (checksum)', () => {
    const missed: number[] = [];
    for (let byte = 0; byte < 64; byte++) {
      const { bytes, words } = batch(64, [
        [0, 0],
        [0, 1],
        [0, 2],
      ]);
      bytes[64 + byte]! ^= 0x10;
      const r = verify(64, words, 3);
      if (r.mismatches === 0 || r.first?.index !== 1) missed.push(byte);
    }
    expect(missed, 'bytes whose corruption went unnoticed').toEqual([]);
  });

  it('catches a corrupted message with its kind, index and the checksum read and computed', () => {
    const { bytes, words } = batch(64, [
      [0, 0],
      [0, 1],
      [0, 2],
    ]);
    bytes[64 + 40]! ^= 0xff;
    const r = verify(64, words, 3);
    expect(r.first).toMatchObject({ kind: 'checksum', index: 1, producer: 0 });
    expect(r.first!.expected).not.toBe(r.first!.got);
    const check = combineReports([3], [r]);
    expect(check.mismatches).toBeGreaterThan(0);
    expect(describeCheck(check)).toMatch(/first: message #1 from producer 0: checksum expected \d+, got \d+/);
  });

  it('catches a payload swapped in from another message (header intact)', () => {
    const { bytes, words } = batch(64, [
      [0, 0],
      [0, 1],
    ]);
    bytes.copyWithin(64 + 12, 12, 64); // message 1 keeps its header, carries message 0's payload
    expect(verify(64, words, 2).first).toMatchObject({ kind: 'checksum', index: 1 });
  });

  it('catches a skipped message (a lost sequence number)', () => {
    const { words } = batch(64, [
      [0, 0],
      [0, 2],
      [0, 3],
    ]);
    const r = verify(64, words, 3);
    expect(r.first).toEqual({ kind: 'sequence', index: 1, producer: 0, expected: 1, got: 2 });
    expect(r.mismatches).toBe(1); // resynchronised: message 3 follows 2
    expect(combineReports([4], [r]).mismatches).toBeGreaterThan(1); // and 3 of 4 arrived
  });

  it('catches a reordered and a duplicated message', () => {
    const reordered = batch(64, [
      [0, 0],
      [0, 2],
      [0, 1],
      [0, 3],
    ]);
    expect(verify(64, reordered.words, 4).first).toEqual({
      kind: 'sequence',
      index: 1,
      producer: 0,
      expected: 1,
      got: 2,
    });
    const duplicated = batch(64, [
      [0, 0],
      [0, 1],
      [0, 1],
      [0, 2],
    ]);
    expect(verify(64, duplicated.words, 4).first).toMatchObject({ kind: 'sequence', index: 2, got: 1 });
  });

  it('catches a lost last message, which no later sequence number reveals', () => {
    const { words } = batch(64, [
      [0, 0],
      [0, 1],
    ]);
    const check = combineReports([3], [verify(64, words, 2)]);
    expect(check).toMatchObject({ sent: 3, received: 2, mismatches: 1 });
    expect(check.first).toMatchObject({ kind: 'count', producer: 0, expected: 3, got: 2 });
  });

  it('catches a wrong length and a producer id out of range', () => {
    const { words } = batch(64, [
      [0, 0],
      [0, 1],
    ]);
    expect(verify(64, words, 2, {}, [64, 60]).first).toMatchObject({
      kind: 'length',
      index: 1,
      expected: 64,
      got: 60,
    });
    const foreign = batch(64, [[5, 0]]);
    expect(verify(64, foreign.words, 1, { producers: 2 }).first).toMatchObject({
      kind: 'producer',
      producer: 5,
    });
  });

  it('checks the spread words and the last word of a large message', () => {
    // 64 KiB: 16,381 payload words, every 256th checked (from word 3) and the last one
    for (const at of [12, 4 * (3 + 32 * 256) + 1, 65536 - 1]) {
      const { bytes, words } = batch(65536, [[0, 0]]);
      bytes[at]! ^= 1;
      expect(verify(65536, words, 1).first, `byte ${at}`).toMatchObject({ kind: 'checksum' });
    }
  });

  it('several consumers: per-consumer order, and counts and sums across them', () => {
    // two producers, two consumers; each consumer sees an increasing subsequence of each stream
    const a = batch(64, [
      [0, 0],
      [1, 0],
      [0, 2],
    ]);
    const b = batch(64, [
      [0, 1],
      [1, 1],
      [0, 3],
    ]);
    const shared = { producers: 2, order: 'increasing' } as const;
    const ok = [verify(64, a.words, 3, shared), verify(64, b.words, 3, shared)];
    expect(combineReports([4, 2], ok)).toEqual({ sent: 6, received: 6, mismatches: 0, first: null });

    // a duplicate inside one consumer breaks its order
    const dup = batch(64, [
      [0, 1],
      [1, 1],
      [0, 1],
    ]);
    expect(verify(64, dup.words, 3, shared).first).toMatchObject({ kind: 'sequence', index: 2 });

    // message 1 delivered to both consumers and message 3 to none: each consumer's order holds
    // and the count is right; only the sum of the sequence numbers tells
    const first = batch(64, [
      [0, 0],
      [0, 1],
    ]);
    const second = batch(64, [
      [0, 1],
      [0, 2],
    ]);
    const one = { producers: 1, order: 'increasing' } as const;
    const reports = [verify(64, first.words, 2, one), verify(64, second.words, 2, one)];
    expect(reports.map((r) => r.mismatches)).toEqual([0, 0]);
    expect(combineReports([4], reports).first).toEqual({
      kind: 'sum',
      index: -1,
      producer: 0,
      expected: 6,
      got: 4,
    });

    // a reorder inside one consumer
    const swapped = batch(64, [
      [0, 2],
      [0, 0],
    ]);
    expect(verify(64, swapped.words, 2, shared).first).toMatchObject({
      kind: 'sequence',
      index: 1,
      expected: 3,
      got: 0,
    });
  });

  it('refuses a size it cannot stamp', () => {
    expect(() => new MessageStamper(8)).toThrow(/multiple of 4 and at least 16 B, got 8/);
    expect(() => new MessageStamper(66)).toThrow(RangeError);
  });
});

describe('the drain peer process verifies what it gets', () => {
  const queues = useQueues('message-check');
  const live: Peer[] = [];
  afterEach(() => {
    for (const p of live.splice(0)) p.kill('SIGKILL');
  });

  it('reports a corrupted, a skipped and a reordered message put by another process', async () => {
    const q = queues.create<Buffer>({ capacityBytes: 1 << 16, mode: 'raw' });
    const sent: Array<[number, number]> = [0, 1, 2, 3, 5, 4, 6].map((seq) => [0, seq]);
    const { bytes } = batch(64, sent);
    bytes[2 * 64 + 30]! ^= 0x04; // message #2: one bit of its payload
    for (let k = 0; k < sent.length; k++) q.putNowait(Buffer.from(bytes.subarray(k * 64, (k + 1) * 64)));
    q.shutdown(); // the drain takes what is queued, then stops
    const drain = spawnPeer<{ got: number; check: VerifierReport }>('drain', {
      name: q.name,
      size: 64,
      batch: 4,
      producers: 1,
      consumers: 1,
    });
    live.push(drain);
    const exit = await drain.exited;
    expect(exit.code, exit.stderr).toBe(0);
    const report = exit.result!.check;
    expect(report.received).toBe(7);
    expect(report.first).toMatchObject({ kind: 'checksum', index: 2, producer: 0 });
    // #2 fails its checksum (and counts for nothing), so 3 is not the next after 1; then 5 skips 4,
    // 4 comes after 5, and 6 after 4
    expect(report.mismatches).toBe(5);
    const check = combineReports([7], [report]);
    expect(check).toMatchObject({ sent: 7, received: 7 });
    expect(checkFailure(check)).toMatch(
      /^message check failed: 7 sent, 7 received, \d+ mismatches; first: message #2/,
    );
  });

  it('passes a flood process stream, message by message, in batches that wrap a small ring', async () => {
    const q = queues.create<Buffer>({ capacityBytes: 4096, mode: 'raw' });
    const drain = spawnPeer<{ got: number; check: VerifierReport }>('drain', {
      name: q.name,
      size: 64,
      batch: 7,
      producers: 1,
      consumers: 1,
    });
    live.push(drain);
    await drain.ready;
    const flood = spawnPeer<{ sent: number }>('flood', { name: q.name, size: 64, batch: 5, count: 20_000 });
    live.push(flood);
    const fed = await flood.exited;
    expect(fed.code, fed.stderr).toBe(0);
    q.shutdown();
    const exit = await drain.exited;
    expect(exit.code, exit.stderr).toBe(0);
    const check = combineReports([fed.result!.sent], [exit.result!.check]);
    expect(check).toEqual({ sent: 20_000, received: 20_000, mismatches: 0, first: null });
  });
});
