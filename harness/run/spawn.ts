import { execa } from 'execa';
import { killProcessTree } from '../systems/kill-tree.ts';

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
  // On Windows a signal ends only vitest's main process: its workers go with a tree kill.
  const onSignal = () => {
    if (process.platform === 'win32' && child.pid) void killProcessTree(child.pid, 'SIGTERM');
    else child.kill('SIGTERM');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return (await child).exitCode ?? null;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
