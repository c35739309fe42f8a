// P producer processes x C consumer processes pass numbered messages through one shared-memory
// queue; the suite proves no loss, no duplicate and per-producer order, at 1x1, 4x4 and 8x8.
import { afterEach, describe, expect, it } from 'vitest';
import { profile, progress, recordFigure, skipAllWhen, useSystem } from '../../harness/index.ts';
import {
  listSegments,
  type Peer,
  queueSystem,
  queueUnavailableReason,
  spawnPeer,
} from '../../systems/queue/index.ts';

// Off Linux every test here is skipped with the reason (systems/queue/README.md, "Platforms").
skipAllWhen(queueUnavailableReason());

const system = useSystem(queueSystem);
const live: Peer[] = [];

afterEach(() => {
  for (const p of live.splice(0)) p.kill('SIGKILL');
});

interface ConsumeResult {
  got: number;
  seen: number[]; // pairs: producer id, sequence number
}

const SHAPES: Array<[number, number]> = [
  [1, 1],
  [4, 4],
  [8, 8],
];

describe('queue producer-consumer across processes', () => {
  for (const [P, C] of SHAPES) {
    it(`${P} producers x ${C} consumers: no loss, no duplicate, per-producer order`, async () => {
      const api = system().api;
      const q = api.create({ capacityBytes: 64 * 1024 }); // small: producers block and the ring wraps
      const perProducer = Math.ceil(profile().count(12_000) / P);
      const consumers = Array.from({ length: C }, (_, id) =>
        spawnPeer<ConsumeResult>('consume', { name: q.name, id, size: 64, spin: 100 }),
      );
      const producers = Array.from({ length: P }, (_, id) =>
        spawnPeer('produce', { name: q.name, id, count: perProducer, size: 64, spin: 100 }),
      );
      live.push(...consumers, ...producers);
      const started = performance.now();
      for (const p of producers) {
        const exit = await p.exited;
        expect(exit.code, exit.stderr).toBe(0);
      }
      progress(`queue pc ${P}x${C}: producers done, draining`);
      q.shutdown();
      const received: number[][] = Array.from({ length: P }, () => []);
      for (const c of consumers) {
        const exit = await c.exited;
        expect(exit.code, exit.stderr).toBe(0);
        const seen = exit.result!.seen;
        const last = new Array<number>(P).fill(-1);
        for (let i = 0; i < seen.length; i += 2) {
          const p = seen[i]!;
          const seq = seen[i + 1]!;
          expect(seq, `producer ${p} order seen by one consumer`).toBeGreaterThan(last[p]!);
          last[p] = seq;
          received[p]!.push(seq);
        }
      }
      const elapsedMs = performance.now() - started;
      for (let p = 0; p < P; p++) {
        const ids = received[p]!.sort((a, b) => a - b);
        expect(ids.length, `producer ${p}: every message once`).toBe(perProducer);
        for (let i = 0; i < ids.length; i++) if (ids[i] !== i) expect(ids[i], `producer ${p} #${i}`).toBe(i);
      }
      expect(q.stats()).toMatchObject({
        count: 0,
        messagesIn: P * perProducer,
        messagesOut: P * perProducer,
      });
      await recordFigure({
        id: `queue.pc.${P}x${C}.delivered`,
        value: P * perProducer,
        unit: 'messages',
        better: 'higher',
        n: P * perProducer,
        method: `${P} producer and ${C} consumer processes, 64 B numbered messages through a 64 KiB ring; every message delivered exactly once, order per producer checked (${Math.round(elapsedMs)} ms including process start-up)`,
      });
    });
  }

  it('leaves no queue segment of this suite in /dev/shm', async () => {
    const api = system().api;
    const names = [...api.names];
    await system().stop();
    const left = listSegments();
    for (const n of names) expect(left).not.toContain(n);
  });
});
