// The storage service's benchmarks (bench and nightly profiles): how fast a watcher learns of an
// append (long-poll and event stream, against polling every 0.5 s on the same appends), manifest
// updates per second, and single-stream upload and download rates to the fs backend against raw
// file I/O in the same tmp dir (windows interleaved AB BA ..., ratio over pairs). Behaviour is
// asserted (every append seen by every observer, bytes intact); every timing is a figure.
import { mkdtemp, open, readFile, rm, unlink } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type Figure,
  interleaved,
  LatencyRecorder,
  profile,
  progress,
  readRigEnv,
  recordLatency,
  recordPairedRates,
  recordThroughput,
  seededRandom,
  ThroughputMeter,
  useSystem,
} from '../../harness/index.ts';
import { type Chunk, type Manifest, StorageClient, storageSystem } from '../../systems/storage/index.ts';
import { MiB, payload, runId, sha256, sleep } from '../_helpers/storage-workload.ts';

const system = useSystem(storageSystem);
const client = () => new StorageClient(system().endpoint);
const user = runId('bench');
const seed = readRigEnv().RIG_SEED ?? Date.now() % 1_000_000;
const refDir = await mkdtemp(path.join(tmpdir(), 'rig-storage-bench-ref-'));
/**
 * Uploads and downloads go through node:http on one kept-alive connection: the service's rate,
 * not fetch's (in this repo's measurements fetch moved 16 MiB bodies 2-3x slower than node:http).
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
afterAll(async () => {
  agent.destroy();
  await rm(refDir, { recursive: true, force: true });
});

/** One request on the kept-alive connection; the answer's status and body (counted or kept). */
function request(
  url: string,
  method: 'GET' | 'PUT',
  body?: Uint8Array,
): Promise<{ status: number; bytes: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: body ? { 'content-type': 'application/octet-stream', 'content-length': body.length } : {},
      },
      (res) => {
        let bytes = 0;
        const keep: Buffer[] = [];
        res.on('data', (d: Buffer) => {
          bytes += d.length;
          if (method === 'PUT' || (res.statusCode ?? 0) >= 300) keep.push(d);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, bytes, text: Buffer.concat(keep).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A manifest append that lists one more (made-up) chunk: the manifest write itself is measured. */
function withChunk(m: Manifest, ref: { userId: string; blockId: string; versionId: string }): Manifest {
  const index = m.chunks.length;
  const chunk: Chunk = {
    name: `c${index}`,
    key: `${ref.userId}/${ref.blockId}/${ref.versionId}/c${index}`,
    size: 1024,
    sha256: sha256(Buffer.from(`c${index}`)),
    index,
  };
  return { ...m, chunks: [...m.chunks, chunk] };
}

/** Waits until the server counts `n` open watchers (long-polls plus event streams). */
async function watchersOpen(c: StorageClient, n: number): Promise<void> {
  const deadline = performance.now() + 10_000;
  while ((await c.health()).watchers < n) {
    if (performance.now() > deadline) throw new Error(`fewer than ${n} watchers open after 10 s`);
    await sleep(1);
  }
}

const PER_VERSION = 100;
const POLL_MS = 500;

describe('storage benchmarks', () => {
  it(
    'watch latency: long-poll and event stream vs polling every 0.5 s, on the same appends',
    async () => {
      const c = client();
      // every observer sees every append: one sample each, at least minSamples
      const total = Math.ceil(profile().minSamples * 1.1);
      const versions = Math.ceil(total / PER_VERSION);
      const refs = Array.from({ length: versions }, (_, v) => ({
        userId: user,
        blockId: 'watch',
        versionId: `v${String(v).padStart(4, '0')}`,
      }));
      const sentAt = refs.map(() => [] as number[]);
      const rec = {
        longpoll: new LatencyRecorder({ unit: 'ms' }),
        sse: new LatencyRecorder({ unit: 'ms' }),
        poll: new LatencyRecorder({ unit: 'ms' }),
        write: new LatencyRecorder({ unit: 'ms' }),
      };
      /** Records, for each append this observer had not seen yet, the time since it was sent. */
      const observer = (r: LatencyRecorder) => {
        const seen = refs.map(() => 0);
        return (v: number, m: Manifest, at: number) => {
          for (let j = seen[v]!; j < m.chunks.length; j++) r.record((at - sentAt[v]![j]!) * 1e6);
          seen[v] = Math.max(seen[v]!, m.chunks.length);
        };
      };
      const armed = { longpoll: -1, sse: -1 };
      // stops the observers when the producer fails, so that the test fails instead of hanging
      const stop = new AbortController();
      const { signal } = stop;

      const longpoll = (async () => {
        const saw = observer(rec.longpoll);
        for (const [v, ref] of refs.entries()) {
          let since: string | undefined;
          armed.longpoll = v;
          while (true) {
            const r = await c.watch(ref, {
              ...(since ? { sinceEtag: since } : {}),
              timeoutMs: 30_000,
              signal,
            });
            if (!r.changed) continue; // timed out: ask again
            saw(v, r.manifest, performance.now());
            since = r.etag;
            if (r.manifest.status === 'completed') break;
          }
        }
      })();
      const sse = (async () => {
        const saw = observer(rec.sse);
        for (const [v, ref] of refs.entries()) {
          armed.sse = v;
          for await (const ev of c.watchStream(ref, { signal })) saw(v, ev.manifest, performance.now());
        }
      })();
      const poll = (async () => {
        const saw = observer(rec.poll);
        const rand = seededRandom(seed);
        await sleep(rand() * POLL_MS); // a random phase
        const t0 = performance.now();
        let v = 0;
        let etag: string | undefined;
        for (let tick = 1; v < refs.length && !signal.aborted; tick++) {
          // once a version completes, the next one is read in the same tick
          while (v < refs.length) {
            const got = await c.getManifest(refs[v]!, etag ? { ifNoneMatch: etag } : {});
            if (got === undefined || got === 'not-modified') break;
            saw(v, got.manifest, performance.now());
            if (got.manifest.status !== 'completed') {
              etag = got.etag;
              break;
            }
            v++;
            etag = undefined;
          }
          await sleep(Math.max(0, t0 + tick * POLL_MS - performance.now()));
        }
      })();
      for (const p of [longpoll, sse, poll]) p.catch((e: unknown) => stop.abort(e));

      const observers = [longpoll, sse, poll];
      const rand = seededRandom(seed + 1);
      try {
        for (const [v, ref] of refs.entries()) {
          while (armed.longpoll < v || armed.sse < v) {
            if (signal.aborted) throw new Error('an observer failed', { cause: signal.reason });
            await sleep(1);
          }
          await watchersOpen(c, 2);
          let m: Manifest = { status: 'generating', chunks: [] };
          let { etag } = await c.putManifest(ref, m, { ifNoneMatch: '*' });
          for (let j = 0; j < PER_VERSION; j++) {
            await sleep(2 + 8 * rand()); // 2-10 ms apart: the watchers are parked again
            m = withChunk(m, ref);
            const t = performance.now();
            sentAt[v]!.push(t);
            ({ etag } = await c.putManifest(ref, m, { ifMatch: etag }));
            rec.write.record((performance.now() - t) * 1e6);
          }
          await c.putManifest(ref, { ...m, status: 'completed' }, { ifMatch: etag });
          progress(`storage bench watch: ${(v + 1) * PER_VERSION}/${versions * PER_VERSION} appends`);
        }
      } catch (e) {
        stop.abort();
        await Promise.allSettled(observers);
        throw e;
      }
      const late = setTimeout(
        () => stop.abort(new Error('observers still waiting 30 s after the last append')),
        30_000,
      );
      try {
        await Promise.all(observers);
      } finally {
        clearTimeout(late);
      }
      const appends = versions * PER_VERSION;
      for (const r of [rec.longpoll, rec.sse, rec.poll]) expect(r.n).toBe(appends);

      const how = `${appends} manifest appends (If-Match PUT listing one more chunk), 2-10 ms apart, ${PER_VERSION} per version; per append: from the PUT being sent until the observer holds a manifest listing it`;
      await recordLatency('storage.watch.latency.poll500ms', rec.poll, {
        method: `${how}; a poller GETs the manifest (If-None-Match) every ${POLL_MS} ms at a random phase`,
        labels: { seed: String(seed) },
      });
      const reference = { prefix: 'storage.watch.latency.poll500ms', recorder: rec.poll };
      await recordLatency('storage.watch.latency.longpoll', rec.longpoll, {
        method: `${how}; a long-poll watcher (GET /files/watch with since_etag, asked again at once on each answer); reference: the poller on the same appends`,
        referenceRecorder: reference,
      });
      await recordLatency('storage.watch.latency.sse', rec.sse, {
        method: `${how}; an event-stream watcher (GET /files/watch/stream); reference: the poller on the same appends`,
        referenceRecorder: reference,
      });
      await recordLatency('storage.manifest.update.latency', rec.write, {
        method: `the same appends: If-Match PUT of the manifest until its answer (validated, compared, written durably, watchers notified), with the 2 watchers and the poller above`,
      });
    },
    profile().testTimeoutMs,
  );

  it(
    'manifest updates per second, one writer',
    async () => {
      const c = client();
      const meter = new ThroughputMeter({ intervalMs: 100 });
      const warmUntil = performance.now() + profile().warmupMs;
      let until = Number.POSITIVE_INFINITY;
      let updates = 0;
      for (let v = 0; performance.now() < until; v++) {
        const ref = { userId: user, blockId: 'updates', versionId: `v${String(v).padStart(5, '0')}` };
        let m: Manifest = { status: 'generating', chunks: [] };
        let { etag } = await c.putManifest(ref, m, { ifNoneMatch: '*' });
        for (let j = 0; j < PER_VERSION && performance.now() < until; j++) {
          m = withChunk(m, ref);
          ({ etag } = await c.putManifest(ref, m, { ifMatch: etag }));
          if (until !== Number.POSITIVE_INFINITY) {
            meter.add(1);
            updates++;
          } else if (performance.now() >= warmUntil) {
            meter.start();
            until = performance.now() + profile().durationMs;
          }
        }
        const got = await c.getManifest(ref);
        expect(got !== undefined && got !== 'not-modified' && got.etag).toBe(etag);
      }
      const result = meter.stop();
      expect(updates).toBeGreaterThan(0);
      await recordThroughput('storage.manifest.update.rate', result, {
        unit: 'updates/s',
        method: `one client, back to back: If-Match PUT of a manifest listing one more chunk (up to ${PER_VERSION} per version, then a new version created with If-None-Match: *), each answer awaited; ${profile().durationMs} ms after ${profile().warmupMs} ms of warm-up`,
      });
    },
    profile().testTimeoutMs,
  );

  const SIZE = 16 * MiB;
  const pairs = profile().name === 'smoke' ? 5 : 8;
  const windowMs = Math.max(500, Math.round(profile().durationMs / 5));

  /** Runs `op` back to back for one window; its rate in B/s and the operations done. */
  async function window(op: () => Promise<number>): Promise<{ rate: number; ops: number; atMs: number }> {
    const atMs = performance.now();
    let bytes = 0;
    let ops = 0;
    while (performance.now() - atMs < windowMs || ops < 2) {
      bytes += await op();
      ops++;
    }
    return { rate: (bytes * 1000) / (performance.now() - atMs), ops, atMs };
  }

  type Window = Awaited<ReturnType<typeof window>>;

  /** The reference as its own figure, the measured side with the per-pair ratio and its interval. */
  const recordPaired = (
    a: Window[],
    b: Window[],
    o: { id: string; method: string; referenceId: string; referenceMethod: string },
  ): Promise<Figure> =>
    recordPairedRates(a, b, {
      ...o,
      unit: 'B/s',
      how: `${a.length} pairs of ${windowMs} ms windows alternating AB BA with the reference, 16 MiB per operation; value: median B/s over the windows`,
    });

  it(
    'single-stream upload and download of 16 MiB objects vs raw file write (fsync) and read',
    async () => {
      const c = client();
      const bytes = payload(SIZE);
      const digest = sha256(bytes);
      const target = { userId: user, blockId: 'io', versionId: 'v1', fileName: 'object.bin' };
      let written = 0;
      const putUrl = `${c.baseUrl}/upload/object?${new URLSearchParams({
        user_id: target.userId,
        block_id: target.blockId,
        version_id: target.versionId,
        file_name: target.fileName,
      })}`;
      const upload = async () => {
        const r = await request(putUrl, 'PUT', bytes);
        const o = JSON.parse(r.text) as { size?: number; sha256?: string };
        if (r.status !== 200 || o.size !== SIZE || o.sha256 !== digest) {
          throw new Error(`upload answered ${r.status}: ${r.text.slice(0, 200)}`);
        }
        return SIZE;
      };
      const rawWrite = async () => {
        const fh = await open(path.join(refDir, `w-${written++}`), 'wx');
        try {
          await fh.writeFile(bytes);
          await fh.sync();
        } finally {
          await fh.close();
        }
        return SIZE;
      };
      const clearRaw = async () => {
        for (let i = 0; i < written; i++) await unlink(path.join(refDir, `w-${i}`)).catch(() => undefined);
        written = 0;
      };
      await upload(); // warm-up, and the object the downloads read
      await rawWrite();
      const up = { a: [] as Window[], b: [] as Window[] };
      await interleaved({
        windows: pairs,
        a: async () => {
          const w = await window(upload);
          up.a.push(w);
          return w.rate;
        },
        b: async () => {
          const w = await window(rawWrite);
          await clearRaw();
          up.b.push(w);
          return w.rate;
        },
        label: 'storage bench upload vs raw write',
      });
      const uploadFigure = await recordPaired(up.a, up.b, {
        id: 'storage.upload.16MiB.bytes',
        method:
          'PUT /upload/object of a 16 MiB body with node:http on one kept-alive connection, one request at a time (spooled, hashed SHA-256 (the ETag is its first 16 bytes), fsynced and renamed by the fs backend), each answer awaited and its size and SHA-256 checked',
        referenceId: 'storage.ref.fs_write_fsync.16MiB.bytes',
        referenceMethod:
          'the same 16 MiB written by this process to a new file in the same tmp dir (same disk): open, write, fsync, close',
      });

      const { url } = await c.downloadUrl(
        `${target.userId}/${target.blockId}/${target.versionId}/${target.fileName}`,
        3600,
      );
      const first = new Uint8Array(await (await c.fetchUrl(url)).arrayBuffer());
      expect(first.length).toBe(SIZE);
      expect(sha256(first)).toBe(digest);
      await rawWrite();
      const rawFile = path.join(refDir, `w-${written - 1}`);
      expect(sha256(await readFile(rawFile))).toBe(digest);
      const buffer = Buffer.alloc(MiB);
      const download = async () => {
        const r = await request(url, 'GET');
        if (r.status !== 200 || r.bytes !== SIZE)
          throw new Error(`download answered ${r.status}, ${r.bytes} B`);
        return r.bytes;
      };
      const rawRead = async () => {
        const fh = await open(rawFile, 'r');
        let n = 0;
        try {
          while (true) {
            const { bytesRead } = await fh.read(buffer, 0, buffer.length, n);
            if (bytesRead === 0) break;
            n += bytesRead;
          }
        } finally {
          await fh.close();
        }
        return n;
      };
      const down = { a: [] as Window[], b: [] as Window[] };
      await interleaved({
        windows: pairs,
        a: async () => {
          const w = await window(download);
          down.a.push(w);
          return w.rate;
        },
        b: async () => {
          const w = await window(rawRead);
          down.b.push(w);
          return w.rate;
        },
        label: 'storage bench download vs raw read',
      });
      const downloadFigure = await recordPaired(down.a, down.b, {
        id: 'storage.download.16MiB.bytes',
        method:
          'GET of a signed /download/stream URL of the 16 MiB object with node:http on one kept-alive connection, one request at a time, the body streamed and counted',
        referenceId: 'storage.ref.fs_read.16MiB.bytes',
        referenceMethod: 'the same 16 MiB read by this process from a file in the same tmp dir, 1 MiB reads',
      });
      await clearRaw();
      expect(uploadFigure.valid, uploadFigure.invalidReason).toBe(true);
      expect(downloadFigure.valid, downloadFigure.invalidReason).toBe(true);
    },
    profile().testTimeoutMs,
  );
});
