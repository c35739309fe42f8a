// Starts the storage service: `node --import tsx systems/storage/bin/serve.ts [--port N] [--host H]
// [--root DIR] [--backend fs|s3]`. Flags override STORAGE_* environment variables, which override
// the defaults. Without --root (or STORAGE_ROOT) the data lives in a temp dir removed on exit.
// Prints `listening on http://HOST:PORT` once the socket accepts; SIGTERM/SIGINT close gracefully.
import { parseArgs } from 'node:util';
import { isStorageError } from '../errors.ts';
import { createStorageServer } from '../server.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    root: { type: 'string' },
    backend: { type: 'string' },
  },
  strict: true,
});

// Flags become environment overrides so that they go through the same validation and messages.
const env: NodeJS.ProcessEnv = { ...process.env };
if (values.port) env.STORAGE_PORT = values.port;
if (values.host) env.STORAGE_HOST = values.host;
if (values.root) env.STORAGE_ROOT = values.root;
if (values.backend) env.STORAGE_BACKEND = values.backend;

try {
  const server = await createStorageServer({}, { env });
  const url = await server.listen();
  process.stdout.write(`listening on ${url} (backend ${server.backend.name}, root ${server.root})\n`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: closing\n`);
    await server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
} catch (e) {
  process.stderr.write(`${isStorageError(e) ? `${e.code}: ` : ''}${(e as Error).message}\n`);
  process.exit(2);
}
