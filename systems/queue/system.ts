import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { type DoctorCheck, defineSystem } from '../../harness/index.ts';
import * as queue from './index.ts';
import { ADDON_PATH, native } from './src/native.ts';
import { queuePlatformCheck } from './src/platform.ts';
import { inspectSegments } from './src/stale.ts';

/** What `startSystem('queue')` hands a suite: the module plus a factory whose queues stop() destroys. */
export interface QueueSystemApi {
  /** The public module (Queue, errors, listSegments...). */
  readonly module: typeof queue;
  /** A fresh uniquely named queue, destroyed when the system stops. */
  create<T = unknown>(options?: queue.CreateOptions): queue.Queue<T>;
  /** Names this start created (so children can open them). */
  readonly names: readonly string[];
}

/** Whether the Node-API addon was built and loads on this machine. */
async function addonCheck(): Promise<DoctorCheck> {
  const hint = 'npm ci (runs systems/queue/install.mjs), or node scripts/postinstall.mjs';
  if (!existsSync(ADDON_PATH)) return { name: 'addon', ok: false, detail: 'not built', hint };
  try {
    const { layoutVersion } = native();
    return { name: 'addon', ok: true, detail: `built, loads (layout ${layoutVersion})` };
  } catch (error) {
    const cause = (error as { cause?: Error }).cause?.message.split('\n')[0];
    return { name: 'addon', ok: false, detail: `built, does not load: ${cause ?? error}`, hint };
  }
}

/** Stale segments in /dev/shm: their creator and every attached process are dead. */
async function staleCheck(): Promise<DoctorCheck> {
  const { segments, unreadableProcesses } = inspectSegments();
  const stale = segments.filter((s) => s.stale);
  const unknown = unreadableProcesses > 0 ? `; ${unreadableProcesses} processes not readable` : '';
  if (stale.length === 0) {
    return { name: 'stale segments', ok: true, detail: `none of ${segments.length} in /dev/shm${unknown}` };
  }
  const bytes = stale.reduce((a, s) => a + s.bytes, 0);
  return {
    name: 'stale segments',
    ok: false,
    detail: `${stale.length} of ${segments.length} (${(bytes / 2 ** 20).toFixed(1)} MiB): ${stale
      .slice(0, 5)
      .map((s) => s.name)
      .join(', ')}${stale.length > 5 ? ', ...' : ''}`,
    hint: 'list them: node --import tsx systems/queue/tools/cleanup.ts; remove them: add --remove',
  };
}

export default defineSystem({
  name: 'queue',
  description: 'shared-memory MPMC ring-buffer queue: C core + Node-API addon + TypeScript API',
  defaultProvider: 'inprocess',
  /** No start options: each queue takes its own in `api.create(options)`. */
  options: z.object({}).strict(),
  /** Off Linux one line says why the queue cannot run there; on Linux the addon and stale segments. */
  doctor: async () => {
    const unsupported = queuePlatformCheck();
    return unsupported ? [unsupported] : [await addonCheck(), await staleCheck()];
  },
  inprocess: {
    async start() {
      const prefix = `sys-${process.pid}-${randomBytes(3).toString('hex')}-`;
      const names: string[] = [];
      const handles: queue.Queue<unknown>[] = [];
      const api: QueueSystemApi = {
        module: queue,
        names,
        create<T>(options?: queue.CreateOptions) {
          const name = `${prefix}${names.length + 1}`;
          const q = queue.Queue.create<T>(name, options);
          names.push(name);
          handles.push(q as queue.Queue<unknown>);
          return q;
        },
      };
      return {
        api,
        async stop() {
          for (const h of handles.splice(0)) h.close();
          for (const name of names.splice(0)) queue.Queue.unlink(name);
        },
      };
    },
  },
});
