// How the harness starts the state store: inside the test process (it is an in-process library).
import path from 'node:path';
import { z } from 'zod';
import { defineSystem } from '../../harness/index.ts';
import { AsyncStateStore } from './store.ts';

/** Start options (`startSystem(stateStoreSystem, { options })`); the harness validates them. */
export const StateStoreStartOptionsSchema = z
  .object({
    /** Back the store with a journal in the start's temp dir. Default false. */
    journal: z.boolean().default(false),
    fsync: z.enum(['always', 'batch', 'never']).default('always'),
    enforceTransitions: z.boolean().default(true),
  })
  .strict();

export default defineSystem({
  name: 'state-store',
  description:
    'versioned async FSM state store with bounded subscriptions and an optional crash-safe journal',
  defaultProvider: 'inprocess',
  options: StateStoreStartOptionsSchema,
  inprocess: {
    async start(ctx) {
      const o = ctx.options;
      const store = o.journal
        ? await AsyncStateStore.open({
            journal: path.join(ctx.tmpDir, 'state.journal'),
            fsync: o.fsync,
            enforceTransitions: o.enforceTransitions,
          })
        : new AsyncStateStore({ enforceTransitions: o.enforceTransitions });
      return { api: store, stop: () => store.close() };
    },
  },
});
