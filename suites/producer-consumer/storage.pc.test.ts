// A producer streams chunks through the storage service while consumers pick them up: the original
// scenario (a generating manifest, 3 chunks of 16/17/16 B after 1.0, 1.5 and 1.0 s, a consumer
// polling every 0.5 s, then a watching one), then scaled up: 1 producer with 10 watching and 10
// polling consumers, 10 producers with a stream each, chunks from 1 KiB to 64 MiB. Every consumer
// must get every chunk, in order, byte for byte, and stop at `completed`. Times run at 0.2x in smoke.
// Figures: end-to-end chunk latency (upload acknowledged -> consumer holds the bytes) for watching
// and polling consumers of the same stream, and manifest updates per second.
import { describe, expect, it } from 'vitest';
import {
  LatencyRecorder,
  profile,
  progress,
  readRigEnv,
  recordLatency,
  recordThroughput,
  seededRandom,
  ThroughputMeter,
  useSystem,
} from '../../harness/index.ts';
import { StorageClient, StreamProducer, storageSystem } from '../../systems/storage/index.ts';
import {
  compareStreams,
  drain,
  KiB,
  MiB,
  payload,
  produceAndConsume,
  runId,
  type SentChunk,
  sha256,
  sizeLabel,
  sleep,
  TimedProducer,
  timeScale,
} from '../_helpers/storage-workload.ts';

const system = useSystem(storageSystem);
const client = () => new StorageClient(system().endpoint);
const user = runId('pc');
const seed = readRigEnv().RIG_SEED ?? Date.now() % 1_000_000;

/** The original delays before each chunk and the poll period, scaled for the profile. */
const ORIGINAL_DELAYS_MS = [1000, 1500, 1000];
const POLL_MS = 500;

async function originalScenario(mode: 'poll' | 'watch', blockId: string) {
  const scale = timeScale();
  const c = client();
  const ref = { userId: user, blockId, versionId: 'v1' };
  const stop = new AbortController();
  // The consumer starts first: it waits for the manifest to appear, then for every chunk.
  const consuming = drain(c, {
    signal: stop.signal,
    userId: ref.userId,
    blockId: ref.blockId,
    versionId: ref.versionId,
    mode,
    pollIntervalMs: POLL_MS * scale,
    staleMs: 30_000,
  });
  const producer = new TimedProducer(c, ref);
  const sizes = [16, 17, 16];
  const sentBytes: Uint8Array[] = [];
  const [result] = await produceAndConsume(stop, [consuming], async () => {
    await producer.create();
    for (const [i, size] of sizes.entries()) {
      await sleep(ORIGINAL_DELAYS_MS[i]! * scale);
      const bytes = payload(size);
      sentBytes.push(bytes);
      await producer.append(bytes);
    }
    await producer.finish();
  });
  const { received, consumer } = result!;
  expect(compareStreams(producer.sent, received), `${mode} consumer`).toEqual([]);
  expect(received.map((r) => r.size)).toEqual(sizes);
  expect(consumer.manifest?.status).toBe('completed');
  expect(consumer.nextIndex).toBe(3);
  const downloaded = await Promise.all(producer.sent.map((s) => c.download(s.key)));
  expect(downloaded.map((b) => Buffer.from(b))).toEqual(sentBytes.map((b) => Buffer.from(b)));
}

describe('storage producer-consumer', () => {
  it('original: 3 chunks of 16/17/16 B after 1.0/1.5/1.0 s, a consumer polling every 0.5 s', async () => {
    await originalScenario('poll', 'original-poll');
  });

  it('original: the same stream to a watching consumer', async () => {
    await originalScenario('watch', 'original-watch');
  });

  it('1 producer, 10 watching and 10 polling consumers: every chunk in order; chunk latency watch vs poll', async () => {
    const scale = timeScale();
    const perMode = 10;
    // enough chunks for a valid latency figure: perMode consumers each give one sample per chunk
    const chunks = Math.ceil(profile().minSamples / perMode);
    const c = client();
    const ref = { userId: user, blockId: 'fanout', versionId: 'v1' };
    const producer = new TimedProducer(c, ref);
    const latency = { watch: new LatencyRecorder({ unit: 'ms' }), poll: new LatencyRecorder({ unit: 'ms' }) };
    const arrivals: Array<{ mode: 'watch' | 'poll'; index: number; at: number }> = [];
    const modes = (['watch', 'poll'] as const).flatMap((mode) => Array<typeof mode>(perMode).fill(mode));
    const stop = new AbortController();
    const consumers = modes.map((mode) =>
      drain(
        c,
        { ...ref, mode, pollIntervalMs: POLL_MS * scale, staleMs: 60_000, signal: stop.signal },
        (chunk, at) => arrivals.push({ mode, index: chunk.index, at }),
      ),
    );
    const rand = seededRandom(seed);
    const results = await produceAndConsume(stop, consumers, async () => {
      await producer.create();
      for (let i = 0; i < chunks; i++) {
        // 0.5x-1.5x of 1 s (scaled): arrivals fall at random phases of the poll period
        await sleep(1000 * scale * (0.5 + rand()));
        await producer.append(payload(16 * KiB));
        progress(`storage pc 1x${2 * perMode}: chunk ${i + 1}/${chunks}`);
      }
      await producer.finish();
    });
    for (const [i, r] of results.entries()) {
      expect(compareStreams(producer.sent, r.received), `${modes[i]} consumer ${i}`).toEqual([]);
      expect(r.consumer.manifest?.status).toBe('completed');
    }
    for (const a of arrivals) latency[a.mode].record((a.at - producer.sent[a.index]!.uploadAckAt) * 1e6);
    expect(latency.watch.n).toBe(chunks * perMode);
    expect(latency.poll.n).toBe(chunks * perMode);
    const how = `1 producer, ${perMode} watching (long-poll) and ${perMode} polling consumers (StreamConsumer) of one stream in the same run; ${chunks} chunks of 16 KiB, 0.5-1.5 s apart (x${scale}); per chunk and consumer: from the producer's object upload being acknowledged (before its manifest update) until the consumer holds the downloaded, SHA-256-checked bytes`;
    await recordLatency('storage.pc.chunk_latency.poll', latency.poll, {
      method: `${how}; polling every ${POLL_MS * scale} ms`,
      labels: { seed: String(seed) },
    });
    await recordLatency('storage.pc.chunk_latency.watch', latency.watch, {
      method: `${how}; watching with the long-poll; reference: the polling consumers`,
      referenceRecorder: { prefix: 'storage.pc.chunk_latency.poll', recorder: latency.poll },
      labels: { seed: String(seed) },
    });
  });

  it('10 producers, each with its own stream and a watching consumer: no chunk lost, mixed or reordered', async () => {
    const c = client();
    const streams = 10;
    const producers = Array.from(
      { length: streams },
      (_, i) => new StreamProducer(c, { userId: user, blockId: `multi-${i}`, versionId: 'v1' }),
    );
    await Promise.all(producers.map((p) => p.start()));
    const stop = new AbortController();
    const consumers = producers.map((p) =>
      drain(c, { ...p.ref, mode: 'watch', staleMs: 60_000, signal: stop.signal }),
    );
    const sent: SentChunk[][] = producers.map(() => []);
    const meter = new ThroughputMeter({ intervalMs: 100 }).start();
    const until = performance.now() + profile().durationMs;
    const results = await produceAndConsume(stop, consumers, async () => {
      await Promise.all(
        producers.map(async (p, i) => {
          while (performance.now() < until) {
            const bytes = payload(4 * KiB);
            const a = await p.append(bytes);
            meter.add(1);
            sent[i]!.push({
              index: a.index,
              key: a.key,
              size: a.size,
              sha256: sha256(bytes),
              uploadAckAt: 0,
            });
          }
        }),
      );
      meter.stop();
      progress(`storage pc ${streams} streams: producers done, finishing`);
      await Promise.all(producers.map((p) => p.finish()));
    });
    await recordThroughput('storage.pc.manifest_updates.10streams.rate', meter.stop(), {
      unit: 'updates/s',
      method: `${streams} StreamProducers, one stream each, appending 4 KiB chunks back to back for ${profile().durationMs} ms (object upload, then the manifest's If-Match append); counted per acknowledged manifest update, each stream followed by a watching consumer`,
    });
    for (const [i, r] of results.entries()) {
      expect(sent[i]!.length, `stream ${i}: chunks appended`).toBeGreaterThan(0);
      expect(compareStreams(sent[i]!, r.received), `stream ${i}`).toEqual([]);
      expect(r.consumer.manifest?.status).toBe('completed');
    }
  });

  const sizes = [KiB, 64 * KiB, MiB, ...(profile().name === 'smoke' ? [] : [8 * MiB, 64 * MiB])];
  it(`chunk sizes ${sizeLabel(sizes[0]!)} .. ${sizeLabel(sizes.at(-1)!)}: a watching and a polling consumer get every byte`, async () => {
    const c = client();
    const ref = { userId: user, blockId: 'sizes', versionId: 'v1' };
    const producer = new TimedProducer(c, ref);
    await producer.create();
    const stop = new AbortController();
    const consumers = (['watch', 'poll'] as const).map((mode) =>
      drain(c, {
        ...ref,
        mode,
        pollIntervalMs: POLL_MS * timeScale(),
        staleMs: 120_000,
        signal: stop.signal,
      }),
    );
    const results = await produceAndConsume(stop, consumers, async () => {
      for (const size of sizes) {
        progress(`storage pc sizes: ${sizeLabel(size)}`);
        await producer.append(payload(size));
      }
      await producer.finish();
    });
    for (const r of results) {
      expect(compareStreams(producer.sent, r.received)).toEqual([]);
      expect(r.received.map((x) => x.size)).toEqual(sizes);
    }
  });
});
