// The autocannon child: one run in a process of its own, so that the load generator shares no
// event loop with the test worker or the target (docs: FACTS, 13-27K req/s inside one vitest
// worker against 61-64K in separate processes).
//
//   node --import tsx harness/load/autocannon-child.ts '<job JSON>'      (or the job on stdin)
//
// The job is an `AutocannonJob`. Prints one line, `{"ok":true,"outcome":{...}}` (exit 0) or
// `{"ok":false,"error":"..."}` (exit 1). Spawned with an IPC channel (as httpLoad does), it exits
// as soon as its parent goes away, so that a killed test run leaves no load generator behind.
import { formatZodIssues } from '../config/zod-error.ts';
import { AutocannonJobSchema, runAutocannon } from './autocannon-run.ts';

async function readStdin(): Promise<string> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

function reply(line: object, code: number): void {
  process.stdout.write(`${JSON.stringify(line)}\n`, () => process.exit(code));
}

async function main(): Promise<void> {
  const text = process.argv[2] ?? (await readStdin());
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    return reply({ ok: false, error: `the job is not JSON: ${(error as Error).message}` }, 1);
  }
  const job = AutocannonJobSchema.safeParse(input);
  if (!job.success) return reply({ ok: false, error: `job: ${formatZodIssues(job.error)}` }, 1);
  const outcome = await runAutocannon(job.data);
  reply({ ok: true, outcome }, 0);
}

if (process.channel) {
  process.once('disconnect', () => process.exit(1));
  process.channel.unref();
}
process.once('SIGTERM', () => process.exit(143));
main().catch((error: unknown) => reply({ ok: false, error: String((error as Error)?.stack ?? error) }, 1));
