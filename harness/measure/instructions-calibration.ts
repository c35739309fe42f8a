// A built-in workload for instruction counting itself: an empty operation, counted with and
// without one spin chunk per call, gives the instructions of one injected chunk
// (`--inject-slowdown` sizes its extra work with it) and the floor of the counting loop.
import type { InstructionWorkload } from './instructions-types.ts';

export const operations: InstructionWorkload['operations'] = {
  noop: {
    setup: () => 0,
    run: () => undefined,
    n: 20_000,
    warmup: 100_000,
  },
};
