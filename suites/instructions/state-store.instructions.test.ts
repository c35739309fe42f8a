// Instructions per operation of the state store, counted under callgrind (deterministic: the gate
// judges them with a fixed 1% band), each beside its native time. Workload: ./workloads/state-store.ts.
import { describe, it } from 'vitest';
import { type Counted, countIt, recordDifference, skipReason } from './figures.ts';
import { FANOUT_SUBSCRIBERS } from './workloads/state-store.ts';

const counted = new Map<string, Counted>();

describe('state-store instruction counts', () => {
  countIt(
    'state-store',
    'state-store.set.0subs',
    'set.0subs',
    'nextSnapshot() + awaited set(), no subscribers',
    counted,
  );
  countIt(
    'state-store',
    `state-store.set.${FANOUT_SUBSCRIBERS}subs`,
    `set.${FANOUT_SUBSCRIBERS}subs`,
    `nextSnapshot() + awaited set() with ${FANOUT_SUBSCRIBERS} subscribers draining through for-await`,
    counted,
  );
  countIt('state-store', 'state-store.get.0subs', 'get.0subs', 'get()');
  countIt(
    'state-store',
    'state-store.json.roundtrip',
    'json.roundtrip',
    'fromJsonDict(toJsonDict(s)) of a 16-entry snapshot',
  );
  countIt(
    'state-store',
    'state-store.proto.roundtrip',
    'proto.roundtrip',
    'fromProto(toProto(s)) of a 16-entry snapshot',
  );

  it('state-store.fanout.delivery: one snapshot delivered to one subscriber (derived)', async (ctx) => {
    const id = 'state-store.fanout.delivery';
    const reason = skipReason(`state-store.set.${FANOUT_SUBSCRIBERS}subs`);
    if (reason) return ctx.skip(reason);
    const big = counted.get(`state-store.set.${FANOUT_SUBSCRIBERS}subs`);
    const small = counted.get('state-store.set.0subs');
    if (!big || !small) return ctx.skip('the set counts it is derived from did not run');
    await recordDifference(
      id,
      big,
      small,
      FANOUT_SUBSCRIBERS,
      'one fan-out delivery (queue, wake, for-await step)',
    );
  });
});
