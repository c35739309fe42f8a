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
  /** The branch the commit was run from: CI's ref name, else git's; undefined on a detached HEAD. */
  branch?: string;
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

/** GitHub Actions names a pull request's branch in GITHUB_HEAD_REF, a push's in GITHUB_REF_NAME. */
function branchOf(root: string): string | undefined {
  const ci = process.env.GITHUB_HEAD_REF || process.env.GITHUB_REF_NAME;
  if (ci) return ci;
  const name = git(['rev-parse', '--abbrev-ref', 'HEAD'], root);
  return name && name !== 'HEAD' ? name : undefined;
}

/** The machine a run measured on: every report shows it beside the figures. */
export function captureEnvironment(root: string): Environment {
  const cpus = os.cpus();
  const branch = branchOf(root);
  return {
    host: os.hostname(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    commit: git(['rev-parse', '--short=12', 'HEAD'], root),
    ...(branch ? { branch } : {}),
    dirty: (git(['status', '--porcelain'], root) ?? '') !== '',
    ci: Boolean(process.env.CI),
  };
}
