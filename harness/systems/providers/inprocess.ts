import type { Provider, StartedInprocess, StoppedSystem } from '../types.ts';

/**
 * Runs the system inside the test process through its `inprocess.start(ctx)`: the suite gets the
 * API object, and the endpoint when the system listens (on ctx.host/ctx.port when asked).
 */
export const inprocessProvider: Provider = {
  description: "the system's API inside the test process (and its endpoint when it listens)",
  supports: (definition) => Boolean(definition.inprocess),
  async start(definition, ctx, cleanup): Promise<StartedInprocess> {
    const name = definition.name;
    // startSystem asks supports() first.
    const started = await definition.inprocess!.start(ctx).catch(async (error: unknown) => {
      await cleanup();
      throw error;
    });
    let stopped: StoppedSystem | undefined;
    return {
      name,
      provider: 'inprocess',
      endpoint: started.endpoint,
      api: started.api,
      pid: process.pid,
      logs: () => '',
      stop: async () => {
        if (stopped) return stopped;
        stopped = { name, exitCode: null, logs: '' };
        await started.stop();
        await cleanup();
        return stopped;
      },
    };
  },
};
