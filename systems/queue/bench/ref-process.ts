import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

/** The reference peers' script (ZeroMQ Push/Pull/Reply, a framed Unix-socket writer). */
export const REF_PEER_SCRIPT = path.resolve(import.meta.dirname, '..', 'tools', 'ref-peer.ts');

const tsxLoader = import.meta.resolve('tsx');

/** A reference peer process: `ready` once it says so, `result` the first other JSON line it prints. */
export interface RefProcess<R> {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  /** The first JSON line after ready; rejects with its stderr when it exits without one. */
  readonly result: Promise<R>;
  kill(): void;
}

/** Starts `tools/ref-peer.ts <role> ...args` (node --import tsx). */
export function spawnRefPeer<R = unknown>(role: string, args: Array<string | number>): RefProcess<R> {
  const child = spawn(process.execPath, ['--import', tsxLoader, REF_PEER_SCRIPT, role, ...args.map(String)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = (stderr + d).slice(-20_000);
  });
  let settle: ((line: string) => void) | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      out += d;
      if (out.includes('"ready":true')) resolve();
      const lines = out.split('\n');
      const done = lines.find((l) => l.startsWith('{') && !l.includes('"ready":true') && l.endsWith('}'));
      if (done !== undefined) settle?.(done);
    });
    child.on('exit', (code, signal) =>
      reject(new Error(`ref-peer ${role} exited (${code ?? signal}) before it was ready: ${stderr}`)),
    );
  });
  ready.catch(() => {});
  const result = new Promise<R>((resolve, reject) => {
    settle = (line) => {
      try {
        resolve(JSON.parse(line) as R);
      } catch (error) {
        reject(error);
      }
    };
    child.on('exit', (code, signal) =>
      reject(new Error(`ref-peer ${role} exited (${code ?? signal}) without a result: ${stderr}`)),
    );
  });
  result.catch(() => {});
  return {
    child,
    ready,
    result,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
