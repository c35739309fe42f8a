// SIGKILL producers, consumers and lock holders of one shared-memory queue at random moments
// while traffic flows. The survivors (and replacements) finish; every acknowledged put is delivered exactly
// once, except messages a killed consumer had taken but not yet logged (counted and reported).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  profile,
  progress,
  readRigEnv,
  recordFigure,
  seededRandom,
  skipAllWhen,
  useSystem,
} from '../../harness/index.ts';
import { type Peer, queueSystem, queueUnavailableReason, spawnPeer } from '../../systems/queue/index.ts';

// Off Linux every test here is skipped with the reason (systems/queue/README.md, "Platforms").
skipAllWhen(queueUnavailableReason());

const system = useSystem(queueSystem);
const dir = mkdtempSync(path.join(tmpdir(), 'rig-queue-crash-'));
const live = new Set<Peer>();

afterEach(() => {
  for (const p of live) p.kill('SIGKILL');
  live.clear();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function readU32s(file: string): Uint32Array {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return new Uint32Array(0);
  }
  const whole = buf.subarray(0, buf.length - (buf.length % 4)); // a torn last write is ignored
  return new Uint32Array(whole.buffer.slice(whole.byteOffset, whole.byteOffset + whole.length));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('queue under SIGKILL', () => {
  it(`survives ${profile().kills} kills of producers, consumers and lock holders; acknowledged puts are delivered exactly once`, async () => {
    const api = system().api;
    const q = api.create({ capacityBytes: 32 * 1024 });
    const seed = readRigEnv().RIG_SEED ?? Date.now() % 1_000_000;
    const rand = seededRandom(seed);
    let nextProducer = 0;
    let nextConsumer = 0;
    const producers = new Map<number, Peer>();
    const consumers = new Map<number, Peer>();
    const startProducer = () => {
      const id = nextProducer++;
      const p = spawnPeer('produce', {
        name: q.name,
        id,
        count: 1_000_000_000, // runs until shutdown() or its kill
        size: 48,
        spin: 50,
        pauseEvery: 100,
        pauseMs: 1,
        log: path.join(dir, `p${id}.ack`),
      });
      producers.set(id, p);
      live.add(p);
      return p.ready;
    };
    const startConsumer = () => {
      const id = nextConsumer++;
      const c = spawnPeer('consume', {
        name: q.name,
        id,
        size: 48,
        spin: 50,
        log: path.join(dir, `c${id}.log`),
      });
      consumers.set(id, c);
      live.add(c);
      return c.ready;
    };
    await Promise.all([startProducer(), startConsumer(), startProducer(), startConsumer()]);

    const killedProducers = new Set<number>();
    let consumerKills = 0;
    let lockHolderKills = 0;
    const kinds = ['producer', 'consumer', 'lock-holder'] as const;
    for (let k = 0; k < profile().kills; k++) {
      await sleep(20 + rand() * 250); // a random moment while traffic flows
      const kind = kinds[k % kinds.length]!;
      if (kind === 'lock-holder') {
        // a peer that dies while it holds the queue's lock: the next locker must repair the state
        const holder = spawnPeer('hold-lock', { name: q.name });
        live.add(holder);
        await holder.ready;
        await sleep(rand() * 50); // everybody else now blocks on the lock
        holder.kill('SIGKILL');
        const exit = await holder.exited;
        live.delete(holder);
        expect(exit.signal, `lock holder: ${exit.stderr}`).toBe('SIGKILL');
        lockHolderKills++;
        progress(`queue crash: kill ${k + 1}/${profile().kills} (lock holder)`);
        continue;
      }
      const pool = kind === 'producer' ? producers : consumers;
      const ids = [...pool.keys()];
      const id = ids[Math.floor(rand() * ids.length)]!;
      const victim = pool.get(id)!;
      victim.kill('SIGKILL');
      const exit = await victim.exited;
      live.delete(victim);
      pool.delete(id);
      expect(exit.signal, `${victim.role} ${id} was killed, not exited: ${exit.stderr}`).toBe('SIGKILL');
      if (kind === 'producer') {
        killedProducers.add(id);
        await startProducer();
      } else {
        consumerKills++;
        await startConsumer();
      }
      progress(`queue crash: kill ${k + 1}/${profile().kills} (${victim.role} ${id})`);
    }
    await sleep(200); // traffic flows past the last kill

    q.shutdown(); // producers stop at their next put; consumers drain what is left, then stop
    for (const peer of [...producers.values(), ...consumers.values()]) {
      const exit = await peer.exited;
      live.delete(peer);
      expect(exit.code, `${peer.role} survivor: ${exit.stderr}`).toBe(0);
    }
    expect(q.qsize()).toBe(0);

    // every message delivered at most once (delivery counts per producer, indexed by sequence number)
    const delivered = new Map<number, Uint8Array>();
    const duplicates: string[] = [];
    let deliveredCount = 0;
    for (let c = 0; c < nextConsumer; c++) {
      const log = readU32s(path.join(dir, `c${c}.log`));
      for (let i = 0; i + 1 < log.length; i += 2) {
        const p = log[i]!;
        const seq = log[i + 1]!;
        let counts = delivered.get(p) ?? new Uint8Array(1024);
        if (seq >= counts.length) {
          const grown = new Uint8Array(Math.max(seq + 1, counts.length * 2));
          grown.set(counts);
          counts = grown;
        }
        delivered.set(p, counts);
        if (counts[seq]! > 0 && duplicates.length < 20) duplicates.push(`producer ${p} #${seq}`);
        counts[seq] = Math.min(255, counts[seq]! + 1);
        deliveredCount++;
      }
    }
    expect(duplicates, 'duplicate deliveries').toEqual([]);
    // every acknowledged put delivered, except messages a killed consumer held
    let lost = 0;
    let acked = 0;
    let unackedDelivered = 0;
    for (let p = 0; p < nextProducer; p++) {
      const acks = readU32s(path.join(dir, `p${p}.ack`));
      acked += acks.length;
      const counts = delivered.get(p) ?? new Uint8Array(0);
      const ackedFlags = new Uint8Array(Math.max(counts.length, acks.length + 1));
      for (const seq of acks) {
        if (seq < ackedFlags.length) ackedFlags[seq] = 1;
        if (!(counts[seq]! > 0)) lost++;
      }
      let extra = 0;
      for (let seq = 0; seq < counts.length; seq++) if (counts[seq]! > 0 && !ackedFlags[seq]) extra++;
      // only a killed producer may have a put that landed before its acknowledgement was logged
      expect(extra, `producer ${p}: deliveries without acknowledgement`).toBeLessThanOrEqual(
        killedProducers.has(p) ? 1 : 0,
      );
      unackedDelivered += extra;
    }
    expect(lost, 'lost messages beyond what killed consumers held').toBeLessThanOrEqual(consumerKills);
    expect(acked).toBeGreaterThan(0);
    const stats = q.stats();
    expect(stats.messagesOut).toBe(stats.messagesIn);
    // a lock holder holds both locks (producers' and consumers'): each is recovered by its next caller
    expect(stats.recoveries).toBeGreaterThanOrEqual(2 * lockHolderKills);

    const labels = {
      seed: String(seed),
      kills: String(profile().kills),
      consumerKills: String(consumerKills),
    };
    await recordFigure({
      id: 'queue.crash.inflight_lost.count',
      value: lost,
      unit: 'messages',
      better: 'lower',
      n: acked,
      method: `acknowledged puts missing from every consumer log after ${profile().kills} SIGKILLs (${consumerKills} consumers); a consumer killed between get() returning and its log write loses that one message`,
      labels,
    });
    await recordFigure({
      id: 'queue.crash.delivered.count',
      value: deliveredCount,
      unit: 'messages',
      better: 'higher',
      n: deliveredCount,
      method: `messages delivered exactly once across ${nextProducer} producers and ${nextConsumer} consumers (${unackedDelivered} landed just before their producer was killed)`,
      labels,
    });
    await recordFigure({
      id: 'queue.crash.recoveries.count',
      value: stats.recoveries,
      unit: 'recoveries',
      better: 'lower',
      n: profile().kills,
      method: `times a caller found a robust mutex's owner dead (EOWNERDEAD) and repaired that side's state (producers' and consumers' locks counted apart); ${lockHolderKills} peers were killed while holding both locks`,
      labels,
    });
  });
});
