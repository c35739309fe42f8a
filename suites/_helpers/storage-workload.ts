// The storage workload shared by its producer-consumer, bench, stress and fault suites: payloads,
// a producer that notes when each upload was acknowledged (for end-to-end chunk latency), and a
// consumer drain that checks what arrived against what was sent. Everything goes over HTTP through
// the public client SDK, so the suites run against any storage target.
import { createHash, randomBytes } from 'node:crypto';
import { profile } from '../../harness/index.ts';
import {
  type Chunk,
  type ConsumedChunk,
  type Manifest,
  type ManifestRef,
  type StorageClient,
  StreamConsumer,
  type StreamConsumerOptions,
} from '../../systems/storage/index.ts';

export const KiB = 1024;
export const MiB = 1024 * KiB;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The time scale of the producer-consumer scenarios: the original delays (1.0, 1.5, 1.0 s) and the
 * 0.5 s poll period run at 0.2x in smoke and at 1x in every other profile.
 */
export function timeScale(): number {
  return profile().name === 'smoke' ? 0.2 : 1;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `1024` -> `1KiB`, `67108864` -> `64MiB` (figure ids and test names). */
export function sizeLabel(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB}MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB}KiB`;
  return `${bytes}B`;
}

/** Random bytes: every chunk differs, so a chunk served for another one cannot pass the check. */
export function payload(size: number): Uint8Array {
  return new Uint8Array(randomBytes(size));
}

/** A unique id per run: the user id of the manifests a test writes. */
export function runId(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export interface SentChunk {
  index: number;
  key: string;
  size: number;
  sha256: string;
  /** performance.now() when the object upload was acknowledged (before the manifest listed it). */
  uploadAckAt: number;
}

/**
 * The producer of the original scenario, on the bare protocol: create the manifest with
 * If-None-Match: *, then per chunk upload the object and append it with If-Match: <etag>, then mark
 * it completed. It records when each upload was acknowledged: the start of a chunk's end-to-end
 * latency (the consumer cannot see the chunk before the manifest update that follows).
 */
export class TimedProducer {
  readonly sent: SentChunk[] = [];
  #etag = '';
  #manifest: Manifest = { status: 'generating', chunks: [] };

  constructor(
    private readonly client: StorageClient,
    readonly ref: ManifestRef,
    private readonly opts: { partSize?: number } = {},
  ) {}

  get etag(): string {
    return this.#etag;
  }

  async create(): Promise<void> {
    const { etag, created } = await this.client.putManifest(this.ref, this.#manifest, { ifNoneMatch: '*' });
    if (!created) throw new Error(`manifest ${this.ref.versionId} existed before its producer created it`);
    this.#etag = etag;
  }

  async append(bytes: Uint8Array): Promise<SentChunk> {
    const index = this.#manifest.chunks.length;
    const fileName = `chunk-${String(index).padStart(5, '0')}`;
    const object = await this.client.uploadObject(
      { ...this.ref, fileName },
      bytes,
      this.opts.partSize ? { partSize: this.opts.partSize } : {},
    );
    const uploadAckAt = performance.now();
    const digest = sha256(bytes);
    if (object.size !== bytes.length || object.sha256 !== digest) {
      throw new Error(
        `upload of chunk ${index} acknowledged ${object.size} B sha256 ${object.sha256}, sent ${bytes.length} B sha256 ${digest}`,
      );
    }
    const chunk: Chunk = { name: fileName, key: object.key, size: bytes.length, sha256: digest, index };
    const next: Manifest = { ...this.#manifest, chunks: [...this.#manifest.chunks, chunk] };
    const { etag } = await this.client.putManifest(this.ref, next, { ifMatch: this.#etag });
    this.#etag = etag;
    this.#manifest = next;
    const sent = { index, key: object.key, size: bytes.length, sha256: digest, uploadAckAt };
    this.sent.push(sent);
    return sent;
  }

  async finish(): Promise<void> {
    const done: Manifest = { ...this.#manifest, status: 'completed' };
    const { etag } = await this.client.putManifest(this.ref, done, { ifMatch: this.#etag });
    this.#etag = etag;
    this.#manifest = done;
  }
}

export interface ReceivedChunk {
  index: number;
  key: string;
  size: number;
  /** Computed here from the bytes received, not taken from the manifest. */
  sha256: string;
  /** performance.now() once the consumer held the bytes. */
  at: number;
}

/**
 * Runs a StreamConsumer to its end (status completed), noting each chunk as it arrives. The
 * promise is marked handled at once: a consumer that fails while its producer still runs is
 * reported where the test awaits it, not as an unhandled rejection.
 */
export function drain(
  client: StorageClient,
  options: StreamConsumerOptions,
  onChunk?: (c: ConsumedChunk, at: number) => void,
): Promise<{ received: ReceivedChunk[]; consumer: StreamConsumer }> {
  const p = drainConsumer(client, options, onChunk);
  p.catch(() => undefined);
  return p;
}

async function drainConsumer(
  client: StorageClient,
  options: StreamConsumerOptions,
  onChunk?: (c: ConsumedChunk, at: number) => void,
): Promise<{ received: ReceivedChunk[]; consumer: StreamConsumer }> {
  const consumer = new StreamConsumer(client, options);
  const received: ReceivedChunk[] = [];
  for await (const c of consumer) {
    const at = performance.now();
    received.push({ index: c.index, key: c.key, size: c.bytes.length, sha256: sha256(c.bytes), at });
    onChunk?.(c, at);
  }
  return { received, consumer };
}

/** What a consumer got, compared with what was sent: a list of problems (empty when identical). */
export function compareStreams(sent: SentChunk[], received: ReceivedChunk[]): string[] {
  const problems: string[] = [];
  if (received.length !== sent.length)
    problems.push(`received ${received.length} chunks, sent ${sent.length}`);
  const n = Math.min(sent.length, received.length);
  for (let i = 0; i < n && problems.length < 10; i++) {
    const s = sent[i]!;
    const r = received[i]!;
    if (r.index !== i) problems.push(`position ${i}: chunk ${r.index} (out of order)`);
    else if (r.key !== s.key || r.size !== s.size || r.sha256 !== s.sha256) {
      problems.push(`chunk ${i}: got ${r.size} B sha256 ${r.sha256}, sent ${s.size} B sha256 ${s.sha256}`);
    }
  }
  return problems;
}

/**
 * Runs the producing side, then returns what the consumers got. When producing fails, the
 * consumers (started with `stop.signal`) are stopped first, so that the test fails at once
 * instead of waiting out their staleMs.
 */
export async function produceAndConsume<T>(
  stop: AbortController,
  consumers: Array<Promise<T>>,
  produce: () => Promise<void>,
): Promise<T[]> {
  try {
    await produce();
  } catch (e) {
    stop.abort();
    await Promise.allSettled(consumers);
    throw e;
  }
  return Promise.all(consumers);
}
