// The runner's entry under the tsx loader (`node --import tsx`): imports the workload module the
// config names, then counts. The default, faster path bundles the same runner instead
// (instructions-bundle.ts).
import { runnerMain } from './instructions-runner.ts';

await runnerMain(undefined);
