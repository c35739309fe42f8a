import { readRigEnv } from './env.ts';

/** Throttled progress lines on stderr, so that long runs show they are alive. */
let last = 0;
const EVERY_MS = readRigEnv().RIG_PROGRESS_MS ?? 2_000;

export function progress(message: string, force = false): void {
  const now = Date.now();
  if (!force && now - last < EVERY_MS) return;
  last = now;
  process.stderr.write(`[rig] ${new Date(now).toISOString().slice(11, 19)} ${message}\n`);
}
