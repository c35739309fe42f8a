// Every message of the throughput and round-trip workloads is stamped by its producer and checked
// by its consumer, in place (no allocation per message). Layout, in 32-bit words:
//   [producer id][sequence number][checksum][payload words ...]
// Payload words are derived from (producer, sequence, position); the checksum is FNV-1a over 32-bit
// words of the producer id, the sequence number and the payload words. Messages up to
// MAX_CHECKED_WORDS payload words (268 B) have every word derived and checked; longer ones have
// MAX_CHECKED_WORDS words spread evenly over the payload plus its last word, the rest a constant
// fill (checking every byte of a 64 KiB message in JS would measure the checksum loop, not the queue).

/** Header words before the payload: producer id, sequence number, checksum. */
export const HEADER_WORDS = 3;
/** Payload words checked per message at most (plus the last word); below this, all of them. */
export const MAX_CHECKED_WORDS = 64;
/** The smallest stamped message: the header and one payload word. */
export const MIN_STAMPED_BYTES = (HEADER_WORDS + 1) * 4;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const SEQ_MIX = 0x9e3779b1;
const POSITION_STEP = 0x7f4a7c15;

/** Where the derived payload words of a `size`-byte message are. */
interface Layout {
  size: number;
  /** Index (relative to the message) of the last word. */
  lastWord: number;
  /** Distance between two checked payload words. */
  stride: number;
}

function layoutOf(size: number): Layout {
  if (!Number.isInteger(size) || size < MIN_STAMPED_BYTES || size % 4 !== 0) {
    throw new RangeError(
      `stamped messages need a size that is a multiple of 4 and at least ${MIN_STAMPED_BYTES} B, got ${size}`,
    );
  }
  const payloadWords = size / 4 - HEADER_WORDS;
  return { size, lastWord: size / 4 - 1, stride: Math.max(1, Math.ceil(payloadWords / MAX_CHECKED_WORDS)) };
}

/** Throws a RangeError naming the rule when messages of `size` bytes cannot be stamped. */
export function assertStampable(size: number): void {
  layoutOf(size);
}

/** Writes producer id, sequence number, derived payload words and checksum of one message. */
/**
 * `bytes` bytes with a Uint32Array view of the same memory (rounded up to whole words), so that
 * messages are stamped and checked in place.
 */
export function wordBuffer(bytes: number): { data: Buffer; words: Uint32Array } {
  const memory = new ArrayBuffer(Math.ceil(bytes / 4) * 4);
  return { data: Buffer.from(memory, 0, bytes), words: new Uint32Array(memory) };
}

export class MessageStamper {
  private readonly lastWord: number;
  private readonly stride: number;

  constructor(readonly size: number) {
    ({ lastWord: this.lastWord, stride: this.stride } = layoutOf(size));
  }

  /** Stamps the message at `byteOffset` (a multiple of 4) of `words`' buffer. */
  stamp(words: Uint32Array, byteOffset: number, producer: number, seq: number): void {
    const at = byteOffset >>> 2;
    const end = at + this.lastWord;
    const stride = this.stride;
    const step = Math.imul(POSITION_STEP, stride);
    let w = Math.imul(seq ^ FNV_OFFSET, SEQ_MIX) ^ producer;
    let h = Math.imul(Math.imul(FNV_OFFSET ^ producer, FNV_PRIME) ^ seq, FNV_PRIME);
    for (let i = at + HEADER_WORDS; i < end; i += stride) {
      w = (w + step) | 0;
      words[i] = w;
      h = Math.imul(h ^ w, FNV_PRIME);
    }
    w = ~w;
    words[end] = w;
    words[at] = producer;
    words[at + 1] = seq;
    words[at + 2] = Math.imul(h ^ w, FNV_PRIME);
  }
}

export type MismatchKind =
  /** The message length is not the stamped size (or it starts off a word boundary). */
  | 'length'
  /** The checksum does not match the header and payload received: corrupted or torn. */
  | 'checksum'
  /** A producer id outside 0..producers-1. */
  | 'producer'
  /** Not the next sequence number of its producer: lost, duplicated or reordered. */
  | 'sequence'
  /** Across all consumers, a producer's intact messages differ from what it sent. */
  | 'count'
  /** Counts agree but the sequence numbers do not sum up: a loss hidden by a duplicate. */
  | 'sum';

export interface Mismatch {
  kind: MismatchKind;
  /** 0-based index of the message among those this consumer received (-1: after the run). */
  index: number;
  /** The producer id read from the message (-1 when not known). */
  producer: number;
  expected: number;
  got: number;
}

/** What one consumer saw; JSON, so that a consumer process can report it. */
export interface VerifierReport {
  received: number;
  mismatches: number;
  first: Mismatch | null;
  /** Per producer: intact messages received. */
  counts: number[];
  /** Per producer: sum of the intact messages' sequence numbers, modulo 2^32. */
  seqSums: number[];
}

/** The verdict over one workload: what the producers sent against what the consumers verified. */
export interface StreamCheck {
  sent: number;
  received: number;
  /** Failed checks (a message fails at most one; a corrupted header can also fail its successor's). */
  mismatches: number;
  first: Mismatch | null;
}

export interface VerifierOptions {
  size: number;
  producers: number;
  /**
   * `exact`: each message must carry the next sequence number of its producer (one consumer).
   * `increasing`: only increasing per producer (several consumers share each producer's stream;
   * combineReports then checks counts and sums across them).
   */
  order: 'exact' | 'increasing';
}

/** Checks each message in place: length, checksum, producer id and sequence number. */
export class MessageVerifier {
  private readonly size: number;
  private readonly lastWord: number;
  private readonly stride: number;
  private readonly exact: boolean;
  private readonly producers: number;
  private readonly next: Uint32Array;
  private readonly counts: Float64Array;
  private readonly seqSums: Uint32Array;
  private received = 0;
  private mismatches = 0;
  private first: Mismatch | null = null;

  constructor(options: VerifierOptions) {
    ({ size: this.size, lastWord: this.lastWord, stride: this.stride } = layoutOf(options.size));
    this.exact = options.order === 'exact';
    this.producers = options.producers;
    this.next = new Uint32Array(options.producers);
    this.counts = new Float64Array(options.producers);
    this.seqSums = new Uint32Array(options.producers);
  }

  /** Checks the `length`-byte message at `byteOffset` of `words`' buffer; false on a mismatch. */
  check(words: Uint32Array, byteOffset: number, length: number): boolean {
    const index = this.received++;
    if (length !== this.size || (byteOffset & 3) !== 0) {
      return this.fail('length', index, -1, this.size, length);
    }
    const at = byteOffset >>> 2;
    const end = at + this.lastWord;
    const stride = this.stride;
    const producer = words[at]!;
    const seq = words[at + 1]!;
    let h = Math.imul(Math.imul(FNV_OFFSET ^ producer, FNV_PRIME) ^ seq, FNV_PRIME);
    for (let i = at + HEADER_WORDS; i < end; i += stride) h = Math.imul(h ^ words[i]!, FNV_PRIME);
    h = Math.imul(h ^ words[end]!, FNV_PRIME);
    if (h >>> 0 !== words[at + 2]) return this.fail('checksum', index, producer, words[at + 2]!, h >>> 0);
    if (producer >= this.producers)
      return this.fail('producer', index, producer, this.producers - 1, producer);
    const expected = this.next[producer]!;
    this.next[producer] = seq + 1;
    this.counts[producer]!++;
    this.seqSums[producer] = this.seqSums[producer]! + seq;
    if (this.exact ? seq !== expected : seq < expected) {
      return this.fail('sequence', index, producer, expected, seq);
    }
    return true;
  }

  report(): VerifierReport {
    return {
      received: this.received,
      mismatches: this.mismatches,
      first: this.first,
      counts: Array.from(this.counts),
      seqSums: Array.from(this.seqSums),
    };
  }

  private fail(kind: MismatchKind, index: number, producer: number, expected: number, got: number): false {
    this.mismatches++;
    this.first ??= { kind, index, producer, expected, got };
    return false;
  }
}

/**
 * Joins the consumers' reports against the producers' sent counts: per producer, the intact
 * messages must number exactly what it sent and their sequence numbers must sum to 0 + .. + sent-1
 * (modulo 2^32), which with per-consumer order catches a loss, a duplicate or a reorder across
 * consumers too.
 */
export function combineReports(sent: readonly number[], reports: readonly VerifierReport[]): StreamCheck {
  let mismatches = 0;
  let first: Mismatch | null = null;
  let received = 0;
  for (const r of reports) {
    received += r.received;
    mismatches += r.mismatches;
    first ??= r.first;
  }
  sent.forEach((n, producer) => {
    let count = 0;
    let sum = 0n;
    for (const r of reports) {
      count += r.counts[producer] ?? 0;
      sum += BigInt(r.seqSums[producer] ?? 0);
    }
    const want = (BigInt(n) * BigInt(Math.max(0, n - 1))) / 2n;
    if (count !== n) {
      mismatches++;
      first ??= { kind: 'count', index: -1, producer, expected: n, got: count };
    } else if (BigInt.asUintN(32, sum) !== BigInt.asUintN(32, want)) {
      mismatches++;
      first ??= {
        kind: 'sum',
        index: -1,
        producer,
        expected: Number(BigInt.asUintN(32, want)),
        got: Number(BigInt.asUintN(32, sum)),
      };
    }
  });
  return { sent: sent.reduce((a, b) => a + b, 0), received, mismatches, first };
}

/** Why a workload's figures cannot be trusted; undefined when every message sent arrived intact and in order. */
export function checkFailure(c: StreamCheck): string | undefined {
  if (c.mismatches === 0 && c.received === c.sent && c.sent > 0) return undefined;
  return `message check failed: ${describeCheck(c)}`;
}

/** One line for a test failure: `message #12 from producer 0: sequence expected 11, got 12`. */
export function describeCheck(c: StreamCheck): string {
  const head = `${c.sent} sent, ${c.received} received, ${c.mismatches} mismatches`;
  const m = c.first;
  if (!m) return head;
  const where = m.index >= 0 ? `message #${m.index}` : 'after the run';
  const who = m.producer >= 0 ? ` from producer ${m.producer}` : '';
  return `${head}; first: ${where}${who}: ${m.kind} expected ${m.expected}, got ${m.got}`;
}
