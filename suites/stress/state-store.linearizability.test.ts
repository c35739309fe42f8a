// Linearizability of the state store: concurrent clients run compareAndSet/get against it while
// every invoke and completion is stamped on one logical clock; a WGL-style search (as in
// porcupine/Knossos) then looks for a sequential order of a version register that explains the
// history. Two deliberately broken, test-only stores (a check-then-act CAS, a caching get) must
// be caught, which shows that the checker can fail.
import { afterEach, describe, expect, it } from 'vitest';
import { profile, recordFigure, type StartedSystem, seededRandom, startSystem } from '../../harness/index.ts';
import {
  type AsyncStateStore,
  type FsmSnapshot,
  nextSnapshot,
  stateStoreSystem,
} from '../../systems/state-store/index.ts';

interface Op {
  id: number;
  client: number;
  kind: 'get' | 'cas';
  /** cas: the version it expected. */
  expected: number;
  /** get: the version read; cas: 1 when it succeeded, 0 when not. */
  result: number;
  invoke: number;
  complete: number;
}

/** The operations a client may call: what AsyncStateStore offers, and the broken variants mimic. */
interface Register {
  get(): FsmSnapshot;
  compareAndSet(expectedVersion: number, next: FsmSnapshot): Promise<boolean>;
}

// ---- the checker --------------------------------------------------------------------------

interface Entry {
  op: Op;
  call: boolean;
  match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

/** Sequential spec of a version register: get reads it, cas(e) bumps it to e + 1 iff it holds e. */
function step(state: number, op: Op): number | undefined {
  if (op.kind === 'get') return op.result === state ? state : undefined;
  if (op.result === 1) return state === op.expected ? state + 1 : undefined;
  return state !== op.expected ? state : undefined;
}

interface CheckResult {
  linearizable: boolean | 'unknown';
  /** Search steps taken. */
  steps: number;
  /** Ops in the longest linearized prefix found (for the report on failure). */
  longest: number;
}

/**
 * Wing & Gong's search with Lowe's memoization: walk the history in time order, try to
 * linearize each pending call, backtrack at a return whose call is not linearized yet.
 */
function checkLinearizable(ops: Op[], initial: number, maxSteps = 5_000_000): CheckResult {
  const events: Entry[] = [];
  for (const op of ops) {
    const call: Entry = { op, call: true, match: undefined, prev: undefined, next: undefined };
    const ret: Entry = { op, call: false, match: undefined, prev: undefined, next: undefined };
    call.match = ret;
    events.push(call, ret);
  }
  events.sort((a, b) => (a.call ? a.op.invoke : a.op.complete) - (b.call ? b.op.invoke : b.op.complete));
  const head: Entry = { op: ops[0]!, call: false, match: undefined, prev: undefined, next: undefined };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  const lift = (e: Entry) => {
    e.prev!.next = e.next;
    if (e.next) e.next.prev = e.prev;
    const m = e.match!;
    m.prev!.next = m.next;
    if (m.next) m.next.prev = m.prev;
  };
  const unlift = (e: Entry) => {
    const m = e.match!;
    m.prev!.next = m;
    if (m.next) m.next.prev = m;
    e.prev!.next = e;
    if (e.next) e.next.prev = e;
  };
  const bits = new Uint32Array(Math.ceil(ops.length / 32) + 1);
  const flip = (id: number) => {
    bits[id >>> 5]! ^= 1 << (id & 31);
  };
  const seen = new Set<string>();
  const stack: Array<{ entry: Entry; state: number }> = [];
  let state = initial;
  let entry = head.next;
  let steps = 0;
  let longest = 0;
  while (head.next !== undefined) {
    if (++steps > maxSteps) return { linearizable: 'unknown', steps, longest };
    if (entry === undefined) return { linearizable: false, steps, longest };
    if (entry.call) {
      const after = step(state, entry.op);
      if (after !== undefined) {
        flip(entry.op.id);
        const key = `${bits.join(',')}|${after}`;
        if (!seen.has(key)) {
          seen.add(key);
          stack.push({ entry, state });
          longest = Math.max(longest, stack.length);
          state = after;
          lift(entry);
          entry = head.next;
          continue;
        }
        flip(entry.op.id);
      }
      entry = entry.next;
    } else {
      // A return whose call could not be placed: undo the last choice.
      const top = stack.pop();
      if (top === undefined) return { linearizable: false, steps, longest };
      state = top.state;
      flip(top.entry.op.id);
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return { linearizable: true, steps, longest };
}

// ---- the workload ---------------------------------------------------------------------------

function delay(r: number): Promise<void> {
  if (r < 0.3) return Promise.resolve();
  if (r < 0.6) return new Promise((resolve) => queueMicrotask(resolve));
  return new Promise((resolve) => setImmediate(resolve));
}

/** `clients` concurrent clients, `perClient` ops each, half get, half cas; a history on one logical clock. */
async function runHistory(
  register: Register,
  clients: number,
  perClient: number,
  seed: number,
): Promise<Op[]> {
  const random = seededRandom(seed);
  const ops: Op[] = [];
  let clock = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      let seen = register.get();
      for (let k = 0; k < perClient; k++) {
        const kind = random() < 0.5 ? 'get' : 'cas';
        const base = seen;
        const op: Op = {
          id: ops.length,
          client,
          kind,
          expected: base.version,
          result: 0,
          invoke: clock++,
          complete: 0,
        };
        ops.push(op);
        await delay(random());
        if (kind === 'get') {
          seen = register.get();
          op.result = seen.version;
        } else {
          const next = nextSnapshot(base, 'ACTIVE', `c${client}.${k}`);
          const ok = await register.compareAndSet(base.version, next);
          op.result = ok ? 1 : 0;
          if (ok) seen = next;
        }
        await delay(random());
        op.complete = clock++;
      }
    }),
  );
  return ops;
}

/** Test-only broken store 1: compareAndSet checks, yields, then writes (a lost-update bug). */
class CheckThenActStore implements Register {
  constructor(private readonly real: AsyncStateStore) {}
  get(): FsmSnapshot {
    return this.real.get();
  }
  async compareAndSet(expectedVersion: number, next: FsmSnapshot): Promise<boolean> {
    const seen = this.real.version;
    await new Promise((resolve) => setImmediate(resolve));
    if (seen !== expectedVersion) return false;
    // A second writer that passed the same check is refused by set() as stale, and the bug
    // reports success anyway.
    await this.real.set(next).catch(() => undefined);
    return true;
  }
}

/** Test-only broken store 2: get() serves a cached snapshot that it refreshes every 4th call. */
class CachingGetStore implements Register {
  private cached: FsmSnapshot;
  private calls = 0;
  constructor(private readonly real: AsyncStateStore) {
    this.cached = real.get();
  }
  get(): FsmSnapshot {
    if (++this.calls % 4 === 0) this.cached = this.real.get();
    return this.cached;
  }
  compareAndSet(expectedVersion: number, next: FsmSnapshot): Promise<boolean> {
    return this.real.compareAndSet(expectedVersion, next);
  }
}

const started: StartedSystem<AsyncStateStore>[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function activeStore(): Promise<AsyncStateStore> {
  const system = await startSystem(stateStoreSystem);
  started.push(system);
  const store = system.api;
  await store.set(nextSnapshot(store.get(), 'IDLE', 'up'));
  await store.set(nextSnapshot(store.get(), 'ACTIVE', 'go'));
  return store;
}

function op(
  id: number,
  kind: 'get' | 'cas',
  expected: number,
  result: number,
  invoke: number,
  complete: number,
): Op {
  return { id, client: id, kind, expected, result, invoke, complete };
}

describe('state-store linearizability', () => {
  it('the checker accepts overlapping orders and rejects impossible ones', () => {
    // cas(0) and a get that saw 1 overlap: linearizable (cas first).
    expect(checkLinearizable([op(0, 'cas', 0, 1, 0, 3), op(1, 'get', 0, 1, 1, 2)], 0).linearizable).toBe(
      true,
    );
    // the get finished before the cas began, yet saw its result: not linearizable.
    expect(checkLinearizable([op(0, 'get', 0, 1, 0, 1), op(1, 'cas', 0, 1, 2, 3)], 0).linearizable).toBe(
      false,
    );
    // two successful cas(0), even concurrent: not linearizable.
    expect(checkLinearizable([op(0, 'cas', 0, 1, 0, 3), op(1, 'cas', 0, 1, 1, 2)], 0).linearizable).toBe(
      false,
    );
    // a failed cas(0) overlapping a successful one: fine.
    expect(checkLinearizable([op(0, 'cas', 0, 1, 0, 3), op(1, 'cas', 0, 0, 1, 4)], 0).linearizable).toBe(
      true,
    );
  });

  it('histories of concurrent compareAndSet/get on the real store are linearizable', async () => {
    const rounds = profile().count(4);
    const clients = 8;
    const perClient = 60;
    let ops = 0;
    let steps = 0;
    let checkMs = 0;
    for (let round = 0; round < rounds; round++) {
      const store = await activeStore();
      const initial = store.version;
      const history = await runHistory(store, clients, perClient, 1000 + round);
      const t0 = performance.now();
      const result = checkLinearizable(history, initial);
      checkMs += performance.now() - t0;
      expect(result.linearizable).toBe(true);
      const successes = history.filter((o) => o.kind === 'cas' && o.result === 1).length;
      expect(store.version - initial).toBe(successes);
      expect(successes).toBeGreaterThan(0);
      expect(history.some((o) => o.kind === 'cas' && o.result === 0)).toBe(true);
      ops += history.length;
      steps += result.steps;
    }
    await recordFigure({
      id: 'state-store.linearizability.check.throughput',
      value: (ops * 1000) / checkMs,
      unit: 'ops/s',
      better: 'higher',
      n: ops,
      method: `history ops checked per second of WGL search (${rounds} histories, ${clients} clients x ${perClient} ops, ${steps} steps)`,
    });
  });

  it.each([
    ['check-then-act compareAndSet', (s: AsyncStateStore): Register => new CheckThenActStore(s)],
    ['caching get', (s: AsyncStateStore): Register => new CachingGetStore(s)],
  ])('catches a broken store: %s', async (_name, wrap) => {
    let caught = 0;
    let undecided = 0;
    const rounds = 3;
    for (let round = 0; round < rounds; round++) {
      const store = await activeStore();
      const initial = store.version;
      const history = await runHistory(wrap(store), 8, 40, 2000 + round);
      const result = checkLinearizable(history, initial);
      if (result.linearizable === 'unknown') undecided++;
      else if (result.linearizable === false) caught++;
    }
    await recordFigure({
      id: `state-store.linearizability.broken.${_name.startsWith('check') ? 'cas' : 'get'}.caught`,
      value: (100 * caught) / rounds,
      unit: '%',
      better: 'higher',
      n: rounds,
      method: `share of recorded histories of the deliberately broken store that the checker rejects (${undecided} undecided within the step limit)`,
    });
    expect(undecided).toBe(0);
    expect(caught).toBeGreaterThan(0);
  });
});
