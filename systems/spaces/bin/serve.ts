// Starts the spaces relay: `node --import tsx systems/spaces/bin/serve.ts [--port N] [--host H]
// [--db FILE]`. Flags override SPACES_* environment variables, which override the defaults. Without
// --db (or SPACES_DB_PATH) the database is a temp file removed on exit. Prints `listening on
// http://HOST:PORT` once the socket accepts, and a generated admin token once when
// SPACES_ADMIN_TOKEN is unset. SIGTERM/SIGINT close gracefully.
import { parseArgs } from 'node:util';
import { isSpacesError } from '../errors.ts';
import { createSpacesServer } from '../server.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    db: { type: 'string' },
  },
  strict: true,
});

const env: NodeJS.ProcessEnv = { ...process.env };
if (values.port) env.SPACES_PORT = values.port;
if (values.host) env.SPACES_HOST = values.host;
if (values.db) env.SPACES_DB_PATH = values.db;

try {
  const server = await createSpacesServer({}, { env });
  const url = await server.listen();
  process.stdout.write(
    `listening on ${url} (db ${server.dbPath}, synchronous=${server.config.synchronous}, ${server.resumed} request(s) resumed)\n`,
  );
  if (server.adminTokenGenerated) {
    process.stdout.write(
      `admin token (generated, set SPACES_ADMIN_TOKEN to choose one): ${server.adminToken}\n`,
    );
  }
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
  process.stderr.write(`${isSpacesError(e) ? `${e.code}: ` : ''}${(e as Error).message}\n`);
  process.exit(2);
}
