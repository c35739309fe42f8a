// A mock inference app for a space: `node --import tsx systems/spaces/bin/mock-app.ts --url URL
// --space NAME --token T [--delay-ms N] [--fail-rate F] [--concurrency N] [--verbose] [--port P
// [--host H]]`. Each flag falls back to SPACES_MOCK_<FLAG> (SPACES_MOCK_URL, SPACES_MOCK_SPACE, ...).
// With --port it also serves GET /health (200 once registered, else 503) and GET /stats (counters)
// on HOST:PORT, which is how the harness waits for it. SIGTERM/SIGINT leave cleanly.
import http from 'node:http';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { MockApp } from '../mock-app.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    space: { type: 'string' },
    token: { type: 'string' },
    'delay-ms': { type: 'string' },
    'fail-rate': { type: 'string' },
    concurrency: { type: 'string' },
    verbose: { type: 'boolean' },
    port: { type: 'string' },
    host: { type: 'string' },
  },
  strict: true,
});

const env = (name: string) => process.env[`SPACES_MOCK_${name}`] || undefined;
const Args = z
  .object({
    url: z.url({ protocol: /^https?$/ }),
    space: z.string().min(1),
    token: z.string().min(1),
    delayMs: z.coerce.number().int().min(0).default(0),
    failRate: z.coerce.number().min(0).max(1).default(0),
    concurrency: z.coerce.number().int().min(1).default(1),
    verbose: z.boolean().default(false),
    port: z.coerce.number().int().min(0).max(65535).optional(),
    host: z.string().min(1).default('127.0.0.1'),
  })
  .strict();
const parsed = Args.safeParse({
  url: values.url ?? env('URL'),
  space: values.space ?? env('SPACE'),
  token: values.token ?? env('TOKEN'),
  delayMs: values['delay-ms'] ?? env('DELAY_MS'),
  failRate: values['fail-rate'] ?? env('FAIL_RATE'),
  concurrency: values.concurrency ?? env('CONCURRENCY'),
  verbose: values.verbose ?? /^(1|true|yes)$/i.test(env('VERBOSE') ?? ''),
  port: values.port ?? env('PORT'),
  host: values.host ?? env('HOST'),
});
if (!parsed.success) {
  const line = parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ');
  process.stderr.write(`mock-app: ${line}\n`);
  process.exit(2);
}
const a = parsed.data;

const app = new MockApp({
  url: a.url,
  spaceId: a.space,
  token: a.token,
  delayMs: a.delayMs,
  failRate: a.failRate,
  concurrency: a.concurrency,
  verbose: a.verbose,
  connectTimeoutMs: 60_000,
});
let registered = false;
app.on('registered', ({ connectionId }) => {
  registered = true;
  process.stdout.write(`registered for ${a.space} at ${a.url} as ${connectionId}\n`);
});
app.on('disconnected', () => {
  registered = false;
});

let stats: http.Server | undefined;
if (a.port !== undefined) {
  stats = http.createServer((req, res) => {
    const body =
      req.url === '/health'
        ? { registered }
        : req.url === '/stats'
          ? { registered, ...app.counters }
          : undefined;
    res.writeHead(body === undefined ? 404 : req.url === '/health' && !registered ? 503 : 200, {
      'content-type': 'application/json',
    });
    res.end(JSON.stringify(body ?? { error: 'not found' }));
  });
  await new Promise<void>((resolve) => stats?.listen(a.port, a.host, resolve));
}

try {
  await app.connect();
} catch (e) {
  process.stderr.write(`mock-app: ${(e as Error).message}\n`);
  stats?.close();
  process.exit(1);
}

const stop = async (signal: string) => {
  process.stdout.write(`${signal}: closing (handled ${app.counters.handled})\n`);
  await app.close();
  stats?.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
