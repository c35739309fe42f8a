// Instruction-count workloads of the state store (suites/instructions/state-store.instructions.test.ts):
// each operation goes through systems/state-store/index.ts as a user's code would.
import { operation } from '../../../harness/index.ts';
import {
  AsyncStateStore,
  type FsmSnapshot,
  fromJsonDict,
  fromProto,
  initialSnapshot,
  isGap,
  nextSnapshot,
  toJsonDict,
  toProto,
} from '../../../systems/state-store/index.ts';

const GETS_PER_CALL = 16;

/** Subscribers of the fan-out variant. */
export const FANOUT_SUBSCRIBERS = 100;

interface Writer {
  store: AsyncStateStore;
  s: FsmSnapshot;
  received: number[];
}

/** An ACTIVE store (so that ACTIVE -> ACTIVE writes are legal) with `subscribers` draining it. */
async function writer(subscribers: number): Promise<Writer> {
  const store = new AsyncStateStore();
  await store.set(nextSnapshot(store.get(), 'IDLE', 'up'));
  await store.set(nextSnapshot(store.get(), 'ACTIVE', 'go'));
  const received = new Array<number>(subscribers).fill(0);
  for (let k = 0; k < subscribers; k++) {
    const sub = store.subscribe({ queueSize: 1024, includeCurrent: false });
    void (async () => {
      for await (const e of sub) if (!isGap(e)) received[k]!++;
    })();
  }
  return { store, s: store.get(), received };
}

/** nextSnapshot() + awaited set(): what a writer does per state change. */
function set(w: Writer): Promise<void> {
  w.s = nextSnapshot(w.s, 'ACTIVE', 'tick');
  return w.store.set(w.s);
}

/** A fixed 16-entry snapshot, the size the converter benchmarks use. */
function snapshot16(): FsmSnapshot {
  const t = 1_767_225_600_000;
  const s = nextSnapshot(initialSnapshot({ timestamp: t }), 'IDLE', 'up', {
    timestamp: t,
    contextData: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, `v${i}`.repeat(4)])),
  });
  return nextSnapshot(s, 'ACTIVE', 'go', { timestamp: t });
}

export const operations = {
  'set.0subs': operation({
    setup: () => writer(0),
    run: set,
    teardown: (w) => w.store.close(),
    n: 20_000,
    warmup: 20_000,
  }),
  [`set.${FANOUT_SUBSCRIBERS}subs`]: operation({
    setup: () => writer(FANOUT_SUBSCRIBERS),
    run: set,
    teardown: (w) => w.store.close(),
    n: 1_000,
    warmup: 5_000,
  }),
  // get() is a few instructions: 16 per call, so that the counting loop's own ~40 instructions
  // per call weigh little in the figure (which is per get).
  'get.0subs': operation({
    setup: () => writer(0),
    run: (w) => {
      let v = 0;
      for (let k = 0; k < GETS_PER_CALL; k++) v += w.store.get().version;
      return v;
    },
    teardown: (w) => w.store.close(),
    n: 20_000,
    warmup: 100_000,
    unitsPerCall: GETS_PER_CALL,
  }),
  'json.roundtrip': operation({
    setup: snapshot16,
    run: (s) => fromJsonDict(toJsonDict(s)),
    n: 3_000,
    warmup: 10_000,
  }),
  'proto.roundtrip': operation({
    setup: snapshot16,
    run: (s) => fromProto(toProto(s)),
    n: 3_000,
    warmup: 10_000,
  }),
};
