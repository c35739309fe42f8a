// 20 producers append to one manifest at the same moment, their first write (the create with
// If-None-Match: *) included, each with several appends in flight. Every acknowledged chunk must be
// listed in the final manifest exactly once, each producer's chunks in the order it appended them,
// every listed object intact, and a watching consumer must get the same list. Lost and duplicated
// chunks are figures (expected 0 in every profile).
import { describe, expect, it } from 'vitest';
import { profile, progress, recordFigure, useSystem } from '../../harness/index.ts';
import {
  isStorageError,
  type Manifest,
  StorageClient,
  StreamProducer,
  storageSystem,
} from '../../systems/storage/index.ts';
import { drain, payload, runId, sha256 } from '../_helpers/storage-workload.ts';

const system = useSystem(storageSystem);
const user = runId('race');
const PRODUCERS = 20;

interface Acked {
  producer: number;
  seq: number;
  key: string;
  sha256: string;
}

describe('storage concurrency', () => {
  it('20 racing creators of one manifest: exactly one 201, 19 x 412', async () => {
    const c = new StorageClient(system().endpoint);
    const ref = { userId: user, blockId: 'create', versionId: 'v1' };
    const outcomes = await Promise.allSettled(
      Array.from({ length: PRODUCERS }, (_, i) =>
        c.putManifest(ref, { status: 'generating', chunks: [], creator: i }, { ifNoneMatch: '*' }),
      ),
    );
    const created = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.filter(
      (o) => o.status === 'rejected' && isStorageError(o.reason, 'STORAGE_PRECONDITION_FAILED'),
    );
    expect(created.map((o) => o.status === 'fulfilled' && o.value.created)).toEqual([true]);
    expect(refused).toHaveLength(PRODUCERS - 1);
    const got = await c.getManifest(ref);
    expect(got !== undefined && got !== 'not-modified' && got.etag).toBe(
      created[0]!.status === 'fulfilled' && created[0]!.value.etag,
    );
  });

  it(`${PRODUCERS} producers append to one manifest at once: every acknowledged chunk listed exactly once`, async () => {
    const c = new StorageClient(system().endpoint);
    const smoke = profile().name === 'smoke';
    const rounds = smoke ? 1 : Math.max(2, Math.round(profile().scale / 2));
    const perProducer = smoke ? 5 : 10;
    let lost = 0;
    let duplicated = 0;
    let unacknowledged = 0;
    let acknowledged = 0;
    const problems: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const ref = { userId: user, blockId: 'append', versionId: `r${round}` };
      const consuming = drain(c, { ...ref, mode: 'watch', staleMs: 120_000 });
      const producers = Array.from(
        { length: PRODUCERS },
        // retried until they win: with 20 racing writers a commit may lose many times in a row
        () => new StreamProducer(c, { ...ref, maxRetries: 10_000 }),
      );
      const acked = new Map<string, Acked>();
      const failures: string[] = [];
      // every producer's first call creates-or-joins the manifest, then its appends overlap
      await Promise.all(
        producers.map((p, producer) =>
          Promise.all(
            Array.from({ length: perProducer }, async (_, seq) => {
              const bytes = payload(64 + ((producer * 31 + seq * 7) % 512));
              const name = `p${producer}-s${seq}`;
              try {
                const a = await p.append(bytes, { name });
                acked.set(name, { producer, seq, key: a.key, sha256: sha256(bytes) });
              } catch (e) {
                failures.push(`${name}: ${(e as Error).message}`);
              }
            }),
          ),
        ),
      );
      await producers[0]!.finish();
      const { received } = await consuming;
      const got = await c.getManifest(ref);
      if (got === undefined || got === 'not-modified') throw new Error(`manifest ${ref.versionId} is gone`);
      const m: Manifest = got.manifest;

      const times = new Map<string, number>();
      for (const chunk of m.chunks) times.set(chunk.name, (times.get(chunk.name) ?? 0) + 1);
      for (const [name, a] of acked) {
        const n = times.get(name) ?? 0;
        if (n === 0) lost++;
        if (n > 1) duplicated += n - 1;
        const listed = m.chunks.find((x) => x.name === name);
        if (listed && (listed.key !== a.key || listed.sha256 !== a.sha256)) {
          problems.push(`round ${round} ${name}: listed as ${listed.key}, acknowledged as ${a.key}`);
        }
      }
      for (const name of times.keys()) if (!acked.has(name)) unacknowledged++;
      acknowledged += acked.size;
      problems.push(...failures.map((f) => `round ${round} append failed: ${f}`));
      // each producer's chunks in its call order
      for (let producer = 0; producer < PRODUCERS; producer++) {
        const seqs = m.chunks
          .filter((x) => x.name.startsWith(`p${producer}-`))
          .map((x) => acked.get(x.name)?.seq);
        const sorted = [...seqs].sort((a, b) => (a ?? -1) - (b ?? -1));
        if (seqs.join() !== sorted.join())
          problems.push(`round ${round} producer ${producer} order ${seqs.join()}`);
      }
      // the consumer saw exactly the final list, and every object is intact
      if (received.map((r) => r.key).join('\n') !== m.chunks.map((x) => x.key).join('\n')) {
        problems.push(
          `round ${round}: the consumer got ${received.length} chunks, the manifest lists ${m.chunks.length}`,
        );
      }
      for (const r of received) {
        const listed = m.chunks[r.index];
        if (!listed || r.sha256 !== listed.sha256 || r.size !== listed.size) {
          problems.push(`round ${round} chunk ${r.index}: downloaded bytes differ from the listing`);
        }
      }
      expect(m.status).toBe('completed');
      progress(`storage concurrency: round ${round + 1}/${rounds}, ${m.chunks.length} chunks`);
    }

    const method = `${PRODUCERS} StreamProducers (If-None-Match: * create, then If-Match appends retried on 412) each appending ${perProducer} chunks with all appends in flight at once, ${rounds} round(s) of one fresh manifest`;
    await recordFigure({
      id: 'storage.stress.concurrency.lost.count',
      value: lost,
      unit: 'count',
      better: 'lower',
      n: acknowledged,
      method: `${method}: acknowledged appends missing from the final manifest`,
    });
    await recordFigure({
      id: 'storage.stress.concurrency.duplicated.count',
      value: duplicated,
      unit: 'count',
      better: 'lower',
      n: acknowledged,
      method: `${method}: extra listings of an acknowledged chunk in the final manifest`,
    });
    expect(problems).toEqual([]);
    expect({ lost, duplicated, unacknowledged }).toEqual({ lost: 0, duplicated: 0, unacknowledged: 0 });
    expect(acknowledged).toBe(rounds * PRODUCERS * perProducer);
  });
});
