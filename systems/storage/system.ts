// How the harness starts the storage service: as a child process (default) or inside the test
// process. The data root is the `root` start option when given (kept: the harness removes only
// what it created), else one inside the start's temp dir, removed with it on stop.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineSystem, Wait } from '../../harness/index.ts';
import { ENV_OVERRIDES, type StorageOptions, StorageOptionsSchema } from './config.ts';
import { createStorageServer } from './server.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const serveBin = path.join(here, 'bin', 'serve.ts');
// tsx's loader by absolute URL, so the child starts whatever its working directory is.
const tsxLoader = import.meta.resolve('tsx');

/** The `root` option, else a root inside the start's temp dir (removed with it). */
const rootFor = (options: StorageOptions, tmpDir: string) =>
  options.root ?? path.join(tmpDir, 'storage-root');

/** Start options as STORAGE_* variables for the child (ENV_OVERRIDES inverted). */
export function optionsToEnv(options: StorageOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, fieldPath] of Object.entries(ENV_OVERRIDES)) {
    let v: unknown = options;
    for (const p of fieldPath) v = v === undefined ? undefined : (v as Record<string, unknown>)[p];
    if (v !== undefined) env[name] = String(v);
  }
  return env;
}

export default defineSystem({
  name: 'storage',
  description: 'storage-streaming HTTP service: multipart uploads, manifests with ETags, signed URLs, watch',
  defaultProvider: 'process',
  options: StorageOptionsSchema,
  process: {
    command: ({ host, port, tmpDir, options }) => ({
      file: process.execPath,
      args: ['--import', tsxLoader, serveBin, '--root', rootFor(options, tmpDir)],
      env: { ...optionsToEnv(options), STORAGE_HOST: host, STORAGE_PORT: String(port) },
    }),
    wait: Wait.forHttp('/health', { timeoutMs: 30_000 }),
    stopGraceMs: 5_000,
  },
  inprocess: {
    async start({ host, port, tmpDir, options }) {
      const server = await createStorageServer(
        { ...options, host: host ?? '127.0.0.1', port: port ?? 0, root: rootFor(options, tmpDir) },
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
