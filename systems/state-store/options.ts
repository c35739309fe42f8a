import { z } from 'zod';
import { StateStoreError } from './errors.ts';
import { isJournalIo, type JournalIo } from './journal-io.ts';

export const SubscribeOptionsSchema = z
  .object({
    /** Snapshots a subscriber may hold unread; its memory is bounded by this. 1 - 1,000,000, default 1024. */
    queueSize: z.number().int().min(1).max(1_000_000).default(1024),
    /** What happens when the queue is full. Default 'drop-oldest'. */
    overflow: z.enum(['drop-oldest', 'drop-newest', 'error']).default('drop-oldest'),
    /** Deliver the current snapshot first. Default true. */
    includeCurrent: z.boolean().default(true),
  })
  .strict();
export type SubscribeOptions = z.input<typeof SubscribeOptionsSchema>;

export const StoreOptionsSchema = z
  .object({
    /** The first snapshot (validated); default initialSnapshot(). */
    initial: z.unknown().optional(),
    /** Reject writes whose state change is not in TRANSITIONS. Default true. */
    enforceTransitions: z.boolean().default(true),
  })
  .strict();
export type StoreOptions = z.input<typeof StoreOptionsSchema>;

export const OpenOptionsSchema = StoreOptionsSchema.extend({
  /** Path of the journal file; created when missing, recovered when present. */
  journal: z.string().min(1),
  /** When a write is acknowledged; see FsyncPolicy. Default 'always'. */
  fsync: z.enum(['always', 'batch', 'never']).default('always'),
  /** fdatasync period of the 'batch' policy, ms. Default 50. */
  fsyncIntervalMs: z.number().int().min(1).max(60_000).default(50),
  /** A damaged record in the middle: 'error' (default) refuses to open, 'truncate' keeps the valid prefix. */
  onCorruption: z.enum(['error', 'truncate']).default('error'),
  /** Rewrite the journal to its last record when opening and on close(). Default true. */
  compact: z.boolean().default(true),
  /** Compact a running journal (atomic rewrite to its last record) once it grows past this. Default 64 MiB. */
  maxJournalBytes: z
    .number()
    .int()
    .min(4096)
    .default(64 * 1024 * 1024),
  /** The calls that write and sync journal bytes (default node:fs): the seam for injecting I/O faults. */
  io: z
    .custom<JournalIo>(isJournalIo, 'must have writeSync, writev, fdatasync and fdatasyncSync functions')
    .optional(),
}).strict();
export type OpenOptions = z.input<typeof OpenOptionsSchema>;

export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${what}.${i.path.join('.')}: ${i.message}`).join('; ');
    throw new StateStoreError('STATE_INVALID_OPTIONS', issues);
  }
  return parsed.data;
}
