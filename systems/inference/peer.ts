// llama.cpp's own server as a same-run reference for the gateway: an external one given by URL
// (`--target llama-server=URL`), or a local binary (LLAMA_SERVER_BIN) started through the
// harness's process provider on the same model, threads, slots and per-slot context as the gateway.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  type ProcessProvider,
  RigError,
  type StartedRemote,
  startProcess,
  targetFor,
} from '../../harness/index.ts';
import { waitForOk } from './wait.ts';

/** The target name `--target llama-server=URL` and RIG_TARGET_LLAMA_SERVER are keyed by. */
export const LLAMA_SERVER_TARGET = 'llama-server';

export interface LlamaServerShape {
  modelPath: string;
  /** The name it serves the model as (`--alias`), the gateway's model id. */
  modelId: string;
  threads: number;
  slots: number;
  /** Tokens per slot, as the gateway's contextSize (llama-server's -c is the total over slots). */
  contextSize: number;
}

/** llama-server's arguments for the gateway's shape (explicit -np turns off its unified KV cache). */
export function llamaServerArgs(shape: LlamaServerShape, host: string, port: number): string[] {
  return [
    ...['-m', shape.modelPath, '--alias', shape.modelId],
    ...['--host', host, '--port', String(port)],
    ...['-t', String(shape.threads), '-tb', String(shape.threads)],
    ...['-np', String(shape.slots), '-c', String(shape.contextSize * shape.slots)],
    // No web UI, no log lines per request: the reference serves the API and nothing else.
    '--no-webui',
    '--log-disable',
  ];
}

/** A process-provider definition that runs `bin` as llama-server with the gateway's shape. */
export function llamaServerProcess(bin: string, shape: LlamaServerShape): ProcessProvider {
  return {
    command: ({ host, port }) => ({ file: bin, args: llamaServerArgs(shape, host, port) }),
    // 503 while the model loads, 200 once it serves.
    wait: waitForOk('/health', { timeoutMs: 60_000 }),
    stopGraceMs: 3_000,
  };
}

export type LlamaServerPeer =
  | { kind: 'target'; root: string }
  | { kind: 'binary'; bin: string }
  | { kind: 'none'; reason: string };

/**
 * Where the reference comes from: an external URL (a trailing /v1 is dropped, the root is kept),
 * else LLAMA_SERVER_BIN, else none with the reason. A named binary that does not exist is an
 * error, not a silent skip: the caller asked for a comparison.
 */
export function resolveLlamaServerPeer(env: NodeJS.ProcessEnv = process.env): LlamaServerPeer {
  const url = targetFor(LLAMA_SERVER_TARGET, env);
  if (url) return { kind: 'target', root: url.replace(/\/+$/, '').replace(/\/v1$/, '') };
  const bin = env.LLAMA_SERVER_BIN;
  if (bin) {
    if (!existsSync(bin)) {
      throw new RigError('RIG_CONFIG_INVALID', `LLAMA_SERVER_BIN=${bin} does not exist`, {
        hint: 'build llama-server from the source node-llama-cpp bundles (systems/inference/README.md)',
      });
    }
    return { kind: 'binary', bin };
  }
  return {
    kind: 'none',
    reason:
      'no llama-server reference: pass --target llama-server=URL or set LLAMA_SERVER_BIN (see systems/inference/README.md)',
  };
}

/** Starts `bin` as llama-server (own process group, free port, stopped with SIGTERM then SIGKILL). */
export async function startLlamaServer(
  bin: string,
  shape: LlamaServerShape,
): Promise<StartedRemote<'process'>> {
  const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'rig-llama-server-'));
  return startProcess(LLAMA_SERVER_TARGET, llamaServerProcess(bin, shape), { tmpDir, options: {} }, () =>
    rm(tmpDir, { recursive: true, force: true }),
  );
}
