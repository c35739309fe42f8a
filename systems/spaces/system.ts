// How the harness starts the spaces relay: as a child process (default) or inside the test process.
// The database is the `dbPath` start option when given (kept: a restart on it resumes its requests),
// else a file inside the start's temp dir, removed with it on stop. Without an `adminToken` option the
// relay generates one and prints it once (process: in its log; inprocess: `api.adminToken`).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DoctorCheck, defineSystem, Wait } from '../../harness/index.ts';
import { ENV_OVERRIDES, type SpacesOptions, SpacesOptionsSchema } from './config.ts';
import { createSpacesServer } from './server.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const serveBin = path.join(here, 'bin', 'serve.ts');
// tsx's loader by absolute URL, so the child starts whatever its working directory is.
const tsxLoader = import.meta.resolve('tsx');

const dbFor = (options: SpacesOptions, tmpDir: string) => options.dbPath ?? path.join(tmpDir, 'spaces.db');

/** Start options as SPACES_* variables for the child (ENV_OVERRIDES inverted). */
export function optionsToEnv(options: SpacesOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, field] of Object.entries(ENV_OVERRIDES)) {
    const v = (options as Record<string, unknown>)[field];
    if (v !== undefined) env[name] = String(v);
  }
  return env;
}

/** better-sqlite3 is a native addon: built at install (its install script must be allowed). */
async function sqliteCheck(): Promise<DoctorCheck> {
  const hint = 'npm install (package.json allowScripts must approve better-sqlite3; it builds with node-gyp)';
  try {
    const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');
    const db = new Database(':memory:');
    const { v } = db.prepare('SELECT sqlite_version() AS v').get() as { v: string };
    db.close();
    return { name: 'better-sqlite3', ok: true, detail: `loads (SQLite ${v})` };
  } catch (error) {
    return { name: 'better-sqlite3', ok: false, detail: `does not load: ${(error as Error).message}`, hint };
  }
}

export default defineSystem({
  name: 'spaces',
  description:
    'WebSocket Spaces relay: socket.io apps behind NAT, per-space FIFO queues, SQLite, web UI, admin',
  defaultProvider: 'process',
  options: SpacesOptionsSchema,
  doctor: async () => [await sqliteCheck()],
  process: {
    command: ({ host, port, tmpDir, options }) => ({
      file: process.execPath,
      args: ['--import', tsxLoader, serveBin, '--db', dbFor(options, tmpDir)],
      env: { ...optionsToEnv(options), SPACES_HOST: host, SPACES_PORT: String(port) },
    }),
    wait: Wait.forHttp('/health', { timeoutMs: 30_000 }),
    stopGraceMs: 5_000,
  },
  inprocess: {
    async start({ host, port, tmpDir, options }) {
      const server = await createSpacesServer(
        { ...options, host: host ?? '127.0.0.1', port: port ?? 0, dbPath: dbFor(options, tmpDir) },
        { env: {} },
      );
      try {
        const endpoint = await server.listen();
        return { api: server, endpoint, stop: () => server.close() };
      } catch (e) {
        await server.close();
        throw e;
      }
    },
  },
  externalWait: Wait.forHttp('/health', { timeoutMs: 30_000 }),
});
