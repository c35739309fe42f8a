import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { assertQueuePlatform } from './platform.ts';

/** The peer process script (tools/peer.ts): producer, consumer, echo, flood and drain loops. */
export const PEER_SCRIPT = path.resolve(import.meta.dirname, '..', 'tools', 'peer.ts');

export type PeerRole =
  | 'produce'
  | 'consume'
  | 'echo'
  | 'flood'
  | 'drain'
  | 'hold-lock'
  | 'put-timed'
  | 'get-timed';

export interface PeerOptions {
  name: string;
  reply?: string;
  id?: number;
  count?: number;
  size?: number;
  batch?: number;
  /**
   * flood/drain: `batch` (putManyFrom/getManyInto of `batch`, the default), `await` (one
   * `await put()` / `await get()` per message, raw mode) or `await-value` (the same in value mode).
   */
  api?: 'batch' | 'await' | 'await-value';
  /** drain: producers whose streams it verifies (ids 0..producers-1). */
  producers?: number;
  /** drain: consumers sharing the queue; with 1 each sequence number must be exactly the next. */
  consumers?: number;
  spin?: number;
  durationMs?: number;
  bucketMs?: number;
  /** produce: sleep pauseMs after every pauseEvery messages (paces traffic for fault injection). */
  pauseEvery?: number;
  pauseMs?: number;
  /** Append-only binary log: acknowledged puts (u32 seq) or received messages (u32 id, u32 seq). */
  log?: string;
}

export interface PeerExit<R> {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** The peer's JSON result; undefined when it was killed or failed. */
  result: R | undefined;
}

export interface Peer<R = unknown> {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly role: PeerRole;
  readonly exited: Promise<PeerExit<R>>;
  /** Resolves once the peer opened the queue and entered its loop; rejects if it exits first. */
  readonly ready: Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

const tsxLoader = import.meta.resolve('tsx');

/** Starts a peer process (node --import tsx tools/peer.ts <role> ...). */
export function spawnPeer<R = unknown>(role: PeerRole, options: PeerOptions): Peer<R> {
  assertQueuePlatform();
  const out = path.join(tmpdir(), `rig-queue-peer-${process.pid}-${randomBytes(4).toString('hex')}.json`);
  const flags: Record<string, string | number | undefined> = {
    name: options.name,
    reply: options.reply,
    id: options.id,
    count: options.count,
    size: options.size,
    batch: options.batch,
    api: options.api,
    producers: options.producers,
    consumers: options.consumers,
    spin: options.spin,
    'duration-ms': options.durationMs,
    'bucket-ms': options.bucketMs,
    'pause-every': options.pauseEvery,
    'pause-ms': options.pauseMs,
    log: options.log,
    out,
  };
  const argv: string[] = [role];
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) argv.push(`--${k}`, String(v));
  const child = spawn(process.execPath, ['--import', tsxLoader, PEER_SCRIPT, ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      // a hold-lock peer is "ready" once it holds the queue's lock
      if (out.includes('"ready":true') || out.includes('"locked":true')) resolve();
    });
    child.on('exit', (code, signal) =>
      reject(new Error(`peer ${role} exited (${code ?? signal}) before it was ready`)),
    );
  });
  ready.catch(() => {}); // observed through `exited` when nobody awaits it
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = (stderr + d).slice(-20_000);
  });
  const exited = new Promise<PeerExit<R>>((resolve) => {
    child.on('exit', (code, signal) => {
      let result: R | undefined;
      try {
        result = JSON.parse(readFileSync(out, 'utf8')) as R;
      } catch {
        result = undefined;
      }
      rmSync(out, { force: true });
      resolve({ code, signal, stderr, result });
    });
  });
  return {
    child,
    pid: child.pid ?? -1,
    role,
    exited,
    ready,
    kill: (signal: NodeJS.Signals = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
