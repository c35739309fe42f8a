// `rig systems start <name> --port N` starts a system standalone on that port, prints its
// endpoint, serves, and on Ctrl-C stops it leaving no process behind.
import path from 'node:path';
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { freePort, REPO_ROOT } from '../../harness/index.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it('rig systems start inference --port N serves on N until SIGINT, then stops its process', async () => {
  const port = await freePort();
  const child = execa(
    process.execPath,
    [path.join(REPO_ROOT, 'bin', 'rig.mjs'), 'systems', 'start', 'inference', '--port', String(port)],
    {
      cwd: REPO_ROOT,
      reject: false,
      all: true,
      env: { ...process.env, FORCE_COLOR: '0' },
    },
  );
  try {
    let output = '';
    const started = await new Promise<RegExpExecArray>((resolve, reject) => {
      child.all?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const m = /started \(process\) at (http:\/\/[\d.:]+), pid (\d+)/.exec(output);
        if (m) resolve(m);
      });
      void child.then(() => reject(new Error(`rig exited before starting: ${output}`)));
    });
    const [, endpoint, pid] = started;
    expect(endpoint).toBe(`http://127.0.0.1:${port}`);
    const health = await fetch(`${endpoint}/health`);
    expect(health.status).toBe(200);
    expect(alive(Number(pid))).toBe(true);
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(0);
    expect(result.all).toContain('inference stopped');
    expect(alive(Number(pid))).toBe(false);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
