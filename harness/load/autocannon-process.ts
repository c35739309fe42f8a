// Runs autocannon-child.ts as a child process and reads its outcome. No child outlives the call
// that started it: it is killed on abort, on its deadline, when the call ends in any other way,
// and when this process exits; the child itself exits when its IPC channel to us closes.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AutocannonJob, AutocannonOutcome } from './autocannon-run.ts';

const CHILD_SCRIPT = fileURLToPath(new URL('./autocannon-child.ts', import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const STDERR_TAIL = 2_000;

/** A run's outcome, or why there is none (failure as data: the caller marks its figures invalid). */
export type ChildRun =
  | { state: 'completed'; outcome: AutocannonOutcome; pid: number }
  | { state: 'failed'; reason: string };

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Process ids of the autocannon children running now (for tests of the no-orphan promise). */
export function runningAutocannonChildren(): number[] {
  return [...live].flatMap((c) => (c.pid !== undefined ? [c.pid] : []));
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Run one job in a fresh child process; killed after `deadlineMs` or when `signal` aborts. */
export async function runAutocannonChild(
  job: AutocannonJob,
  options: { deadlineMs: number; signal?: AbortSignal },
): Promise<ChildRun> {
  if (options.signal?.aborted) return { state: 'failed', reason: 'aborted before the start' };
  const child = spawn(process.execPath, ['--import', TSX_LOADER, CHILD_SCRIPT, JSON.stringify(job)], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-STDERR_TAIL);
  });
  let killedBecause: string | undefined;
  const kill = (why: string) => {
    killedBecause ??= why;
    if (alive(child)) child.kill('SIGKILL');
  };
  const timer = setTimeout(() => kill(`no outcome after ${options.deadlineMs} ms`), options.deadlineMs);
  const onAbort = () => kill('aborted');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    const tail = stderr.trim() ? `; stderr: ${stderr.trim()}` : '';
    if (killedBecause) return { state: 'failed', reason: `autocannon child killed: ${killedBecause}${tail}` };
    const line = stdout.trim().split('\n').at(-1) ?? '';
    let reply: { ok: boolean; outcome?: AutocannonOutcome; error?: string } | undefined;
    try {
      reply = JSON.parse(line) as typeof reply;
    } catch {
      reply = undefined;
    }
    if (code === 0 && reply?.ok && reply.outcome) {
      return { state: 'completed', outcome: withNaN(reply.outcome), pid: child.pid ?? -1 };
    }
    const exit = signal ? `signal ${signal}` : `code ${code}`;
    return {
      state: 'failed',
      reason: `autocannon child exited with ${exit}: ${reply?.error ?? line}${tail}`,
    };
  } catch (error) {
    return { state: 'failed', reason: `autocannon child did not start: ${(error as Error).message}` };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    if (alive(child)) child.kill('SIGKILL');
    live.delete(child);
  }
}

/** JSON turns NaN into null: turn it back. */
function withNaN(outcome: AutocannonOutcome): AutocannonOutcome {
  const latencyMs = { ...outcome.latencyMs };
  for (const key of Object.keys(latencyMs) as Array<keyof typeof latencyMs>) {
    latencyMs[key] = typeof latencyMs[key] === 'number' ? latencyMs[key] : Number.NaN;
  }
  return { ...outcome, latencyMs };
}
