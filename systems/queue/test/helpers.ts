import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, afterEach, expect } from 'vitest';
import { skipAllWhen } from '../../../harness/index.ts';
import { type CreateOptions, listSegments, Queue, queueUnavailableReason } from '../index.ts';

export const CHILD = path.join(import.meta.dirname, 'fixtures', 'child.ts');
const TSX = import.meta.resolve('tsx');

/**
 * Unique queue names for one test file, destroyed after each test (also on failure), and a
 * file-wide check that none of this file's segments is left in /dev/shm. Off Linux every test of
 * the file (or describe) is skipped with `queueUnavailableReason()`.
 */
export function useQueues(file: string): {
  name(): string;
  create<T = unknown>(options?: CreateOptions): Queue<T>;
  track<T>(q: Queue<T>): Queue<T>;
} {
  skipAllWhen(queueUnavailableReason());
  const prefix = `ut-${file}-${process.pid}-`;
  let n = 0;
  const handles: Queue<unknown>[] = [];
  const names = new Set<string>();
  afterEach(() => {
    for (const h of handles.splice(0)) h.close();
    for (const name of names) Queue.unlink(name);
    names.clear();
  });
  afterAll(() => {
    expect(listSegments().filter((s) => s.startsWith(prefix))).toEqual([]);
  });
  const name = () => {
    const v = `${prefix}${++n}`;
    names.add(v);
    return v;
  };
  return {
    name,
    create: <T = unknown>(options?: CreateOptions) => {
      const q = Queue.create<T>(name(), options);
      handles.push(q as Queue<unknown>);
      return q;
    },
    track: <T>(q: Queue<T>) => {
      handles.push(q as Queue<unknown>);
      return q;
    },
  };
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** Runs test/fixtures/child.ts with tsx; resolves when it exits. */
export function runChild(args: string[], options: { timeoutMs?: number } = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, CHILD, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    // 'close', not 'exit': the exit can come before the last of its stdout was read
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Starts the child and resolves once its stdout shows `marker`; returns it to kill. */
export function startChild(args: string[], marker = '"ready":true'): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, CHILD, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    child.on('exit', () => children.delete(child));
    child.on('error', reject);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes(marker)) resolve(child);
    });
  });
}

/** Starts test/fixtures/worker.ts in a worker thread (TypeScript through tsx's API). */
export function startWorker(data: Record<string, unknown>): Worker {
  const file = path.join(import.meta.dirname, 'fixtures', 'worker.ts');
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then(({ tsImport }) => tsImport(${JSON.stringify(file)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(code, { eval: true, workerData: data });
}
