import { execFileSync } from 'node:child_process';
import os from 'node:os';

export interface Environment {
  host: string;
  os: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  commit: string | undefined;
  dirty: boolean;
  ci: boolean;
}

function git(args: string[], cwd: string): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** The machine a run measured on: every report shows it beside the figures. */
export function captureEnvironment(root: string): Environment {
  const cpus = os.cpus();
  return {
    host: os.hostname(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    commit: git(['rev-parse', '--short=12', 'HEAD'], root),
    dirty: (git(['status', '--porcelain'], root) ?? '') !== '',
    ci: Boolean(process.env.CI),
  };
}
