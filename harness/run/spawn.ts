import { execa } from 'execa';

/**
 * A test runner's CLI (vitest, @playwright/test) in a child Node process in `root`, with `env`
 * added to this process's environment; Ctrl-C and SIGTERM are passed on to it. Resolves to its
 * exit code (null when a signal ended it).
 */
export async function spawnRunner(job: {
  root: string;
  args: string[];
  env: Record<string, string>;
  quiet: boolean;
}): Promise<number | null> {
  const child = execa(process.execPath, job.args, {
    cwd: job.root,
    reject: false,
    stdio: job.quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit',
    env: { ...process.env, ...job.env },
  });
  const onSignal = () => child.kill('SIGTERM');
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return (await child).exitCode ?? null;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
