// No orphans on any OS: a child that started a grandchild which ignores SIGTERM is ended with its
// whole tree (killProcessTree: the process group on POSIX, `taskkill /T /F` on Windows), directly
// and through the process provider's stop(). Every pid a test learns is SIGKILLed after it, so a
// failing test leaves nothing behind. The Windows command line is checked here with a fake runner;
// the nightly matrix runs the real-process tests on macOS and Windows too.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CommandRunner,
  killProcessTree,
  processTreeAlive,
  startProcess,
  taskkillArgs,
  Wait,
} from '../../harness/index.ts';

const windows = process.platform === 'win32';

/** A grandchild that ignores SIGTERM, says so, and idles until killed. */
const GRANDCHILD = `process.on('SIGTERM', () => {}); console.log('armed'); setInterval(() => {}, 1000);`;
/** A child that starts GRANDCHILD, prints its pid once it is armed, and idles (SIGTERM ends it). */
const CHILD = `const { spawn } = require('node:child_process');
const g = spawn(process.execPath, ['-e', ${JSON.stringify(GRANDCHILD)}], { stdio: ['ignore', 'pipe', 'ignore'] });
g.stdout.once('data', () => console.log('grandchild ' + g.pid));
setInterval(() => {}, 1000);`;

const known = new Set<number>();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const pid of known) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  known.clear();
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** Gone: no such process, or (Linux) a zombie, dead and waiting for a parent that may never reap it. */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  if (process.platform !== 'linux') return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** The pids still running after up to `ms` of polling (a bound on a wait, not a timed assertion). */
async function survivors(pids: number[], ms = 15_000): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids.filter((p) => !gone(p));
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    left = left.filter((p) => !gone(p));
  }
  return left;
}

/** Spawns CHILD (detached: it leads its own process group) and resolves with both pids. */
function spawnFamily(detached = true): Promise<{ child: ChildProcess; pid: number; grandchild: number }> {
  const child = spawn(process.execPath, ['-e', CHILD], {
    detached,
    stdio: ['ignore', 'pipe', 'inherit'],
    windowsHide: true,
  });
  children.push(child);
  if (child.pid !== undefined) known.add(child.pid);
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`the child exited (code ${code}) before its grandchild started`)),
    );
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /grandchild (\d+)/.exec(out);
      if (!m || child.pid === undefined) return;
      known.add(Number(m[1]));
      resolve({ child, pid: child.pid, grandchild: Number(m[1]) });
    });
  });
}

describe('killProcessTree on this OS', () => {
  it('ends a child and the grandchild it started (which ignores SIGTERM)', async () => {
    const { pid, grandchild } = await spawnFamily();
    const result = await killProcessTree(pid, 'SIGKILL');
    expect(result.state).toBe('signalled');
    expect(await survivors([pid, grandchild])).toEqual([]);
    expect(processTreeAlive(pid)).toBe(false);
  });

  it('says gone for a process that has exited', async () => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    children.push(child);
    await new Promise((r) => child.once('exit', r));
    const result = await killProcessTree(child.pid!, 'SIGTERM');
    expect(result.state).toBe('gone');
  });

  it('POSIX: a child that leads no process group gets the signal itself (the fallback; skipped on Windows, which has no groups)', async (ctx) => {
    if (windows)
      return ctx.skip('Windows has no process groups: killProcessTree always runs taskkill /T there');
    const { child, pid, grandchild } = await spawnFamily(false);
    const exited = new Promise((r) => child.once('exit', r));
    const result = await killProcessTree(pid, 'SIGKILL');
    expect(result).toMatchObject({
      state: 'signalled',
      how: expect.stringContaining('leads no process group'),
    });
    await exited;
    expect(gone(grandchild)).toBe(false); // the limit that detached spawning avoids
  });

  it('detached: only the group is signalled, never a pid that leads none (it may be another process by then)', async (ctx) => {
    if (windows)
      return ctx.skip('Windows has no process groups: killProcessTree always runs taskkill /T there');
    const { pid } = await spawnFamily(false);
    expect(await killProcessTree(pid, 'SIGKILL', { detached: true })).toMatchObject({ state: 'gone' });
    expect(processTreeAlive(pid, { detached: true })).toBe(false);
    expect(gone(pid)).toBe(false); // untouched; afterEach ends it
  });

  it('refuses a pid that cannot be one', async () => {
    expect(await killProcessTree(0)).toMatchObject({ state: 'failed', reason: 'not a process id: 0' });
    expect(await killProcessTree(-12)).toMatchObject({ state: 'failed' });
  });
});

describe('the process provider leaves no orphan', () => {
  it('stop() ends the system and a descendant that ignores SIGTERM', async () => {
    const started = await startProcess(
      'family',
      {
        command: () => ({ file: process.execPath, args: ['-e', CHILD] }),
        wait: Wait.forLogMessage(/grandchild \d+/, { timeoutMs: 15_000 }),
        stopGraceMs: 300,
      },
      { tmpDir: '', options: {} },
      async () => {},
    );
    if (started.pid !== undefined) known.add(started.pid);
    const grandchild = Number(/grandchild (\d+)/.exec(started.logs())?.[1]);
    known.add(grandchild);
    const stopped = await started.stop();
    expect(await survivors([started.pid!, grandchild])).toEqual([]);
    expect(stopped.logs).not.toContain('could not end the process tree');
  });
});

describe('the process provider after the system exits on its own', () => {
  it('ends what the system left in its group (here: it exits before it is ready)', async (ctx) => {
    if (windows) {
      return ctx.skip(
        'Windows: once the system has exited, taskkill /T cannot find what it left (that needs a Job Object)',
      );
    }
    const exitsEarly = `${CHILD.replace('setInterval(() => {}, 1000);', '')}\ng.stdout.once('data', () => setTimeout(() => process.exit(3), 50));`;
    const error = await startProcess(
      'leaver',
      {
        command: () => ({ file: process.execPath, args: ['-e', exitsEarly] }),
        wait: Wait.forLogMessage(/never printed/, { timeoutMs: 15_000 }),
        stopGraceMs: 300,
      },
      { tmpDir: '', options: {} },
      async () => {},
    ).catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ code: 'RIG_SYSTEM_EXITED' });
    const grandchild = Number(/grandchild (\d+)/.exec(String((error as Error).message))?.[1]);
    expect(grandchild).toBeGreaterThan(0);
    known.add(grandchild);
    expect(await survivors([grandchild])).toEqual([]);
  });
});

describe('Windows: taskkill /T /F (a fake runner here; the real one on the nightly Windows job)', () => {
  const fake = (outcome: Awaited<ReturnType<CommandRunner>>) => {
    const calls: Array<[string, string[], number]> = [];
    const run: CommandRunner = async (file, args, timeoutMs) => {
      calls.push([file, args, timeoutMs]);
      return outcome;
    };
    return { calls, run };
  };

  it('runs taskkill on the pid with /T (descendants) and /F (forced), whatever the signal', async () => {
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const { calls, run } = fake({ code: 0, output: 'SUCCESS' });
      const result = await killProcessTree(4321, signal, { platform: 'win32', run });
      expect(calls).toEqual([['taskkill', ['/pid', '4321', '/T', '/F'], 10_000]]);
      expect(result).toEqual({ state: 'signalled', how: 'taskkill /pid 4321 /T /F' });
    }
    expect(taskkillArgs(7)).toEqual(['/pid', '7', '/T', '/F']);
  });

  it('exit 128 (no such process) is gone; any other failure or a timeout is reported with its output', async () => {
    expect(
      (await killProcessTree(9, 'SIGTERM', { platform: 'win32', run: fake({ code: 128, output: '' }).run }))
        .state,
    ).toBe('gone');
    const denied = await killProcessTree(9, 'SIGTERM', {
      platform: 'win32',
      run: fake({ code: 1, output: 'ERROR: Access is denied.' }).run,
    });
    expect(denied).toEqual({
      state: 'failed',
      reason: 'taskkill /pid 9 /T /F failed (exit code 1): ERROR: Access is denied.',
    });
    const slow = fake({ code: null, output: '', error: 'stopped after 50 ms' });
    const hung = await killProcessTree(9, 'SIGKILL', { platform: 'win32', run: slow.run, timeoutMs: 50 });
    expect(slow.calls[0]?.[2]).toBe(50);
    expect(hung).toEqual({ state: 'failed', reason: 'taskkill /pid 9 /T /F failed (stopped after 50 ms)' });
  });

  it('on Windows only the root can be asked about: processTreeAlive probes the pid itself', () => {
    expect(processTreeAlive(process.pid, { platform: 'win32' })).toBe(true);
  });
});
