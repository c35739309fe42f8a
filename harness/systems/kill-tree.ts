// Ending a child process together with everything it started, on every OS. POSIX: the child was
// spawned `detached` (it leads its own process group), so one signal to the group reaches its
// descendants too. Windows has no process groups to signal (`process.kill(-pid)` does not exist
// there): `taskkill /pid <pid> /T /F` ends the process and its descendants, always forcibly.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** How `taskkill` went: its exit code (null when it did not exit by itself) and its output. */
export interface CommandOutcome {
  code: number | null;
  output: string;
  /** Set when it could not be started or was stopped at the timeout. */
  error?: string;
}

/** Runs a command with a timeout (tests pass a fake that records the call). */
export type CommandRunner = (file: string, args: string[], timeoutMs: number) => Promise<CommandOutcome>;

export interface KillTreeOptions {
  /** Default `process.platform`. */
  platform?: NodeJS.Platform;
  /** Windows: runs taskkill. Default: `execFile`, hidden window. */
  run?: CommandRunner;
  /** Windows: how long taskkill may take, in ms. Default 10 000. */
  timeoutMs?: number;
  /**
   * POSIX: `pid` was spawned detached and leads its group; only the group is signalled, never
   * `pid` alone, whose number may belong to another process once the child was reaped.
   */
  detached?: boolean;
}

/** What became of the tree: failure is data, so a caller can log it and fall back. */
export type KillTreeResult =
  | { state: 'signalled'; how: string }
  | { state: 'gone'; how: string }
  | { state: 'failed'; reason: string };

/** taskkill's exit code when no process has that pid. */
const TASKKILL_NOT_FOUND = 128;

const runCommand: CommandRunner = (file, args, timeoutMs) =>
  new Promise((resolve) => {
    execFile(
      file,
      args,
      { timeout: timeoutMs, windowsHide: true, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`.trim();
        if (!error) return resolve({ code: 0, output });
        const e = error as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
        if (e.killed) return resolve({ code: null, output, error: `stopped after ${timeoutMs} ms` });
        if (typeof e.code === 'number') return resolve({ code: e.code, output });
        resolve({ code: null, output, error: e.message });
      },
    );
  });

/** The taskkill command line that ends `pid` and its descendants (Windows). */
export function taskkillArgs(pid: number): string[] {
  return ['/pid', String(pid), '/T', '/F'];
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/**
 * Sends `signal` to `pid` and every process it started. POSIX: to the process group `pid` leads
 * (spawn it with `detached: true`), or, when it leads none, to `pid` alone. Windows: `taskkill /T
 * /F`, whatever the signal (Windows has no SIGTERM; Node's `child.kill()` is a forced end there
 * too), within `timeoutMs`; a taskkill that fails or hangs is a `failed` result with its output.
 */
export async function killProcessTree(
  pid: number,
  signal: NodeJS.Signals = 'SIGTERM',
  options: KillTreeOptions = {},
): Promise<KillTreeResult> {
  if (!Number.isInteger(pid) || pid <= 0) return { state: 'failed', reason: `not a process id: ${pid}` };
  const platform = options.platform ?? process.platform;
  if (platform === 'win32') {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const args = taskkillArgs(pid);
    const r = await (options.run ?? runCommand)('taskkill', args, timeoutMs);
    const how = `taskkill ${args.join(' ')}`;
    if (r.code === 0) return { state: 'signalled', how };
    if (r.code === TASKKILL_NOT_FOUND) return { state: 'gone', how };
    const why = r.error ?? `exit code ${r.code}`;
    return { state: 'failed', reason: `${how} failed (${why})${r.output ? `: ${r.output}` : ''}` };
  }
  try {
    process.kill(-pid, signal);
    return { state: 'signalled', how: `${signal} to process group ${pid}` };
  } catch (error) {
    if (errnoOf(error) !== 'ESRCH') {
      return { state: 'failed', reason: `${signal} to process group ${pid}: ${(error as Error).message}` };
    }
  }
  // No group led by pid: it was not spawned detached, or it has gone.
  if (options.detached) return { state: 'gone', how: `no process group ${pid}` };
  try {
    process.kill(pid, signal);
    return { state: 'signalled', how: `${signal} to process ${pid} (it leads no process group)` };
  } catch (error) {
    if (errnoOf(error) === 'ESRCH') return { state: 'gone', how: `no process ${pid} nor group` };
    return { state: 'failed', reason: `${signal} to process ${pid}: ${(error as Error).message}` };
  }
}

/** Linux: whether a process that is not a zombie (dead, waiting to be reaped) is in group `pgid`. */
function liveGroupMemberInProc(pgid: number): boolean | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone since the listing
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ')'
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

/**
 * Whether anything of the tree may still run. POSIX: any member of the process group `pid` leads
 * (or, unless `detached`, `pid` itself); on Linux a zombie does not count (an orphan is reaped by PID 1, which in a
 * container without an init may never happen). Windows: only `pid` can be asked about (a
 * descendant is not visible without walking the process table), so after `taskkill /T` this
 * says whether the root survived.
 */
export function processTreeAlive(
  pid: number,
  options: { platform?: NodeJS.Platform; detached?: boolean } = {},
): boolean {
  const platform = options.platform ?? process.platform;
  const probe = (target: number) => {
    try {
      process.kill(target, 0);
      return true;
    } catch (error) {
      return errnoOf(error) === 'EPERM'; // it exists, it is not ours
    }
  };
  if (platform === 'win32') return probe(pid);
  if (!probe(-pid)) return options.detached ? false : probe(pid);
  if (platform === 'linux') return liveGroupMemberInProc(pid) ?? true;
  return true;
}
