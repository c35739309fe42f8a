// The state-store workload shared by its latency (smoke), bench and stress suites: stores with
// draining subscribers, and the set/get loops whose figures they record. One definition, so that
// smoke and bench figures with the same id are measured the same way. Also the concurrent mixed
// workload and the tally of operation outcomes behind the stress suite's success rates.
import { expect } from 'vitest';
import {
  LatencyRecorder,
  profile,
  recordFigure,
  recordLatency,
  recordThroughput,
  type StartedSystem,
  seededRandom,
  startSystem,
  summarize,
  ThroughputMeter,
  type ThroughputResult,
  timeBatches,
} from '../../harness/index.ts';
import {
  type AsyncStateStore,
  FSM_STATES,
  type FsmSnapshot,
  type FsmState,
  isGap,
  isLegalTransition,
  isStateStoreError,
  nextSnapshot,
  type StateStoreErrorCode,
  stateStoreSystem,
} from '../../systems/state-store/index.ts';

export const BATCH = 256;

/** BOOTING -> IDLE -> ACTIVE, so that ACTIVE -> ACTIVE writes are legal. */
export async function toActive(store: AsyncStateStore): Promise<AsyncStateStore> {
  await store.set(nextSnapshot(store.get(), 'IDLE', 'up'));
  await store.set(nextSnapshot(store.get(), 'ACTIVE', 'go'));
  return store;
}

/** A fresh ACTIVE store with `n` subscribers draining it through `for await`; tracked for stop. */
export async function storeWith(
  n: number,
  started: StartedSystem<AsyncStateStore>[],
): Promise<{ store: AsyncStateStore; received: () => number }> {
  const system = await startSystem(stateStoreSystem);
  started.push(system);
  const store = await toActive(system.api);
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    const sub = store.subscribe({ queueSize: 1024, includeCurrent: false });
    void (async () => {
      for await (const e of sub) if (!isGap(e)) counts[i]!++;
    })();
  }
  return { store, received: () => counts.reduce((a, b) => a + b, 0) };
}

/** Unmeasured sets and gets for the profile's warm-up window. */
export async function warm(store: AsyncStateStore): Promise<void> {
  const until = performance.now() + profile().warmupMs;
  let s = store.get();
  while (performance.now() < until) {
    for (let i = 0; i < BATCH; i++) {
      s = nextSnapshot(s, 'ACTIVE', 'warm');
      await store.set(s);
      store.get();
    }
  }
}

/** Awaited sets for `ms`: ops/s over 100 ms intervals. */
export async function setThroughput(store: AsyncStateStore, ms: number): Promise<ThroughputResult> {
  let s: FsmSnapshot = store.get();
  const meter = new ThroughputMeter().start();
  const until = performance.now() + ms;
  while (performance.now() < until) {
    for (let i = 0; i < BATCH; i++) {
      s = nextSnapshot(s, 'ACTIVE', 'tick');
      await store.set(s);
    }
    meter.add(BATCH);
  }
  return meter.stop();
}

/**
 * Each set timed on its own: `call` is nextSnapshot() + set() until it returns (applied and
 * queued to every subscriber; in memory the ack is already resolved); `roundtrip` runs on to the
 * end of the `await`, by which time every subscriber's for-await body has run as well.
 */
export async function setLatency(store: AsyncStateStore, ms: number) {
  const call = new LatencyRecorder({ unit: 'us' });
  const roundtrip = new LatencyRecorder({ unit: 'us' });
  let s: FsmSnapshot = store.get();
  const until = performance.now() + ms;
  while (performance.now() < until) {
    for (let i = 0; i < BATCH; i++) {
      const t0 = process.hrtime.bigint();
      s = nextSnapshot(s, 'ACTIVE', 'tick');
      const ack = store.set(s);
      call.recordSince(t0);
      await ack;
      roundtrip.recordSince(t0);
    }
  }
  return { call, roundtrip };
}

export function getThroughput(store: AsyncStateStore, ms: number): ThroughputResult {
  const meter = new ThroughputMeter().start();
  const until = performance.now() + ms;
  let sink = 0;
  while (performance.now() < until) {
    for (let i = 0; i < 4096; i++) sink += store.get().version;
    meter.add(4096);
  }
  expect(sink).toBeGreaterThan(0);
  return meter.stop();
}

/**
 * get() calls timed together. One call takes a few tens of nanoseconds, about what reading the
 * clock costs, so a call timed on its own measures the clock; a batch spreads the two clock reads
 * over GET_BATCH calls.
 */
export const GET_BATCH = 1024;

/** Amortised get() time, ns per call: one sample per batch of GET_BATCH calls timed together. */
export function getLatency(store: AsyncStateStore, ms: number): number[] {
  return timeBatches(() => store.get(), { batch: GET_BATCH, ms });
}

/** Set and get throughput and latency, each over its own `ms` window. */
export async function measureSetGet(store: AsyncStateStore, ms: number) {
  const setTp = await setThroughput(store, ms);
  const { call, roundtrip } = await setLatency(store, ms);
  const getTp = getThroughput(store, ms);
  const getLat = getLatency(store, ms);
  return { setTp, call, roundtrip, getTp, getLat };
}

async function recordMean(id: string, rec: LatencyRecorder, method: string): Promise<void> {
  const stats = rec.stats('mean');
  await recordFigure({ id, value: stats.mean, unit: rec.unit, better: 'lower', n: stats.n, stats, method });
}

/**
 * `${prefix}.p50/.p95/.p99/.mean` of amortised per-call times (ns), one sample per batch,
 * labelled `timing: amortised` so that the timer floor does not apply to them.
 */
async function recordAmortised(prefix: string, perCallNs: number[], method: string): Promise<void> {
  for (const statistic of ['p50', 'p95', 'p99', 'mean'] as const) {
    const stats = summarize(perCallNs, { statistic, resamples: profile().resamples });
    await recordFigure({
      id: `${prefix}.${statistic}`,
      value: stats[statistic],
      unit: 'ns',
      better: 'lower',
      n: stats.n,
      stats,
      percentiles: [
        [0, stats.min],
        [50, stats.p50],
        [90, stats.p90],
        [95, stats.p95],
        [99, stats.p99],
        [100, stats.max],
      ],
      method,
      labels: { timing: 'amortised' },
    });
  }
}

/** The `state-store.{set,get}.<n>subs.*` figures of one measureSetGet(). */
export async function recordSetGet(n: number, m: Awaited<ReturnType<typeof measureSetGet>>): Promise<void> {
  const how = `in process, nextSnapshot() + awaited set() in a loop, ${n} subscribers draining with for-await`;
  const callHow = `${how}; hrtime around nextSnapshot() + set() until set() returns`;
  await recordThroughput(`state-store.set.${n}subs.throughput`, m.setTp, { method: how });
  await recordLatency(`state-store.set.${n}subs`, m.call, { method: callHow });
  await recordMean(`state-store.set.${n}subs.mean`, m.call, callHow);
  await recordLatency(`state-store.set.${n}subs.roundtrip`, m.roundtrip, {
    method: `${how}; hrtime from nextSnapshot() to the end of await set(), subscribers' bodies included`,
  });
  const getHow = `in process, get() in a loop, ${n} subscribers`;
  await recordThroughput(`state-store.get.${n}subs.throughput`, m.getTp, { method: getHow });
  await recordAmortised(
    `state-store.get.${n}subs`,
    m.getLat,
    `${getHow}; hrtime around each batch of ${GET_BATCH} calls, divided by ${GET_BATCH} (amortised per-call time; ${m.getLat.length} batches give the distribution)`,
  );
}

/** Awaited sets for `ms`, counting `n` deliveries per set (subscribers run before the await returns). */
export async function fanOut(store: AsyncStateStore, n: number, ms: number): Promise<ThroughputResult> {
  const meter = new ThroughputMeter().start();
  let s = store.get();
  const until = performance.now() + ms;
  while (performance.now() < until) {
    s = nextSnapshot(s, 'ACTIVE', 'fan');
    await store.set(s);
    meter.add(n);
  }
  return meter.stop();
}

export async function recordFanOut(n: number, result: ThroughputResult): Promise<void> {
  await recordThroughput(`state-store.fanout.${n}subs.deliveries`, result, {
    unit: 'msg/s',
    method: `awaited set() in a loop; deliveries = snapshots received by ${n} for-await consumers per second`,
  });
}

/**
 * How the operations of a workload ended: as the store's contract says ("handled": applied, a
 * conflict or refusal with its expected typed code, a read or stream that keeps the invariants),
 * or not ("unexpected": any other error, a wrong code, a broken invariant).
 */
export class ContractTally {
  ops = 0;
  handled = 0;
  readonly outcomes = new Map<string, number>();
  /** What went wrong, the first 20 times. */
  readonly unexpected: string[] = [];
  private unexpectedCount = 0;

  ok(outcome: string): void {
    this.ops++;
    this.handled++;
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }

  fail(what: string): void {
    this.ops++;
    this.unexpectedCount++;
    if (this.unexpected.length < 20) this.unexpected.push(what);
  }

  /** `ok(outcome)` when `p` resolves to a value `expected` accepts, else `fail`. */
  async resolves<T>(
    p: Promise<T>,
    outcome: (value: T) => string | undefined,
    what: string,
  ): Promise<T | undefined> {
    try {
      const value = await p;
      const o = outcome(value);
      if (o === undefined) this.fail(`${what}: resolved to an unexpected ${JSON.stringify(value)}`);
      else this.ok(o);
      return value;
    } catch (error) {
      this.fail(`${what}: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** `ok(outcome)` when `p` rejects with one of `codes` (the outcome named after the code), else `fail`. */
  async rejects(p: Promise<unknown>, codes: readonly StateStoreErrorCode[], what: string): Promise<void> {
    try {
      await p;
      this.fail(`${what}: accepted, expected ${codes.join(' or ')}`);
    } catch (error) {
      if (isStateStoreError(error) && codes.includes(error.code)) this.ok(error.code);
      else this.fail(`${what}: ${(error as Error).message}`);
    }
  }

  get successRate(): number {
    return this.ops === 0 ? 0 : this.handled / this.ops;
  }

  /** `id` = the share of handled operations (0..1); the method names what counted as handled. */
  async record(id: string, method: string): Promise<void> {
    const counts = [...this.outcomes]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    await recordFigure({
      id,
      value: this.successRate,
      unit: 'ratio',
      better: 'higher',
      n: this.ops,
      method: `${method}. Success: the operation ended as the store's contract says (applied; a conflict or refusal with its expected typed code; a read or stream that keeps the invariants); anything else (another error, a wrong code, a broken invariant) is a failure. Outcomes: ${counts}; unexpected ${this.unexpectedCount}`,
    });
  }
}

/** Every state but SHUTDOWN, which nothing leaves. */
const MIXED_STATES: readonly FsmState[] = FSM_STATES.filter((s) => s !== 'SHUTDOWN');
/** A legal next state from each of them. */
const STEP: Readonly<Record<FsmState, FsmState>> = {
  BOOTING: 'IDLE',
  IDLE: 'ACTIVE',
  ACTIVE: 'IDLE',
  ERROR_STATE: 'IDLE',
  SHUTDOWN: 'SHUTDOWN',
};

/**
 * `workers` async tasks interleaving a seeded mix of operations on one store for `ops`
 * operations in all: read-yield-set (a stale read gets STATE_STALE_VERSION), read-yield-CAS (a
 * conflict resolves false), random state changes as plain objects (illegal ones get
 * STATE_ILLEGAL_TRANSITION), invalid snapshots (STATE_INVALID_SNAPSHOT), reads that must never
 * go back, and polls of a per-worker subscription whose versions must rise with exact gaps.
 * Ends with the lost-update check: the version advanced by exactly the writes that succeeded.
 */
export async function mixedWorkload(
  store: AsyncStateStore,
  o: { workers: number; ops: number; seed: number },
): Promise<ContractTally> {
  const tally = new ContractTally();
  const random = seededRandom(o.seed);
  const start = store.version;
  let issued = 0;
  let applied = 0;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const worker = async (w: number) => {
    const sub = store.subscribe({ queueSize: 64, overflow: 'drop-oldest', includeCurrent: false });
    let expected = store.version + 1;
    let lastRead = store.version;
    while (issued < o.ops) {
      issued++;
      const roll = random();
      const cur = store.get();
      // Let the other workers in between the read and the write, sometimes for a whole turn.
      if (random() < 0.1) await new Promise((r) => setImmediate(r));
      else await Promise.resolve();
      if (roll < 0.3) {
        // Legal from what was read: a refusal can only be the stale version.
        const next = nextSnapshot(cur, STEP[cur.state], `w${w}`);
        try {
          await store.set(next);
          applied++;
          tally.ok('applied');
        } catch (error) {
          if (isStateStoreError(error, 'STATE_STALE_VERSION')) tally.ok(error.code);
          else tally.fail(`set: ${(error as Error).message}`);
        }
      } else if (roll < 0.5) {
        const next = nextSnapshot(cur, STEP[cur.state], `cas${w}`);
        await tally.resolves(
          store.compareAndSet(cur.version, next),
          (won) => {
            if (won) applied++;
            return won ? 'applied' : 'cas conflict';
          },
          'compareAndSet',
        );
      } else if (roll < 0.6) {
        // A random target as a plain object: validated in full, its transition checked by the store.
        const now = store.get();
        const target = pick(MIXED_STATES);
        const write = store.set({ ...now, version: now.version + 1, state: target, prevState: now.state });
        if (isLegalTransition(now.state, target)) {
          await tally.resolves(
            write,
            () => {
              applied++;
              return 'applied';
            },
            `set ${now.state} -> ${target}`,
          );
        } else await tally.rejects(write, ['STATE_ILLEGAL_TRANSITION'], `set ${now.state} -> ${target}`);
      } else if (roll < 0.65) {
        await tally.rejects(
          store.set({ ...cur, version: store.version + 1, timestamp: -1 }),
          ['STATE_INVALID_SNAPSHOT'],
          'invalid snapshot',
        );
      } else if (roll < 0.85) {
        const v = store.get().version;
        if (v >= lastRead) tally.ok('read');
        else tally.fail(`read went back from ${lastRead} to ${v}`);
        lastRead = v;
      } else {
        let broken: string | undefined;
        for (let e = sub.poll(); e !== undefined && broken === undefined; e = sub.poll()) {
          if (isGap(e)) {
            if (e.afterVersion !== expected - 1)
              broken = `gap after ${e.afterVersion}, expected ${expected - 1}`;
            expected += e.missed;
          } else {
            if (e.version !== expected) broken = `version ${e.version}, expected ${expected}`;
            expected = e.version + 1;
          }
        }
        if (broken === undefined) tally.ok('poll');
        else tally.fail(`subscription of worker ${w}: ${broken}`);
      }
    }
    sub.unsubscribe();
  };
  await Promise.all(Array.from({ length: o.workers }, (_, w) => worker(w)));
  if (store.version - start === applied) tally.ok('no lost update');
  else tally.fail(`version advanced by ${store.version - start}, but ${applied} writes succeeded`);
  return tally;
}
