// A mock inference app for the spaces relay, as a system of its own so that the harness (and
// `rig systems start spaces-mock-app`) can run it: a child process running
// systems/spaces/bin/mock-app.ts (default), or a MockApp inside the test process. The child serves
// GET /health (200 once registered) and GET /stats (its counters) on the harness's host:port.
// `rig systems start spaces-mock-app --url U --space S --token T [--delay-ms N] ...` passes them as
// start options; ones left out fall back to SPACES_MOCK_* (URL, SPACE, TOKEN, DELAY_MS, ...) in the child.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineSystem, Wait } from '../../harness/index.ts';
import { MockApp } from '../spaces/mock-app.ts';
import { MockAppOptionsSchema, optionsToArgs } from './options.ts';

const mockBin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'spaces', 'bin', 'mock-app.ts');
const tsxLoader = import.meta.resolve('tsx');

export default defineSystem({
  name: 'spaces-mock-app',
  description:
    'mock inference app for the spaces relay: registers for a space, echoes requests (delay, failRate)',
  defaultProvider: 'process',
  options: MockAppOptionsSchema,
  process: {
    command: ({ host, port, options }) => ({
      file: process.execPath,
      args: [
        '--import',
        tsxLoader,
        mockBin,
        ...optionsToArgs(options),
        '--host',
        host,
        '--port',
        String(port),
      ],
    }),
    wait: Wait.forHttp('/health', { timeoutMs: 60_000 }),
    stopGraceMs: 3_000,
  },
  inprocess: {
    async start({ options }) {
      const { url, space, token } = options;
      if (!url || !space || !token) {
        throw new Error('spaces-mock-app inprocess needs the url, space and token start options');
      }
      const app = new MockApp({
        url,
        spaceId: space,
        token,
        ...(options.delayMs !== undefined ? { delayMs: options.delayMs } : {}),
        ...(options.failRate !== undefined ? { failRate: options.failRate } : {}),
        ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
        ...(options.verbose !== undefined ? { verbose: options.verbose } : {}),
      });
      try {
        await app.connect();
      } catch (e) {
        await app.close();
        throw e;
      }
      return { api: app, stop: () => app.close() };
    },
  },
});
