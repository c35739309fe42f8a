// What corrupt.test.ts and its child (fixtures/open-corrupt.ts) exchange: the plan (one corrupted
// segment per case, by name) and one result line per case. Both sides validate with these schemas.
import { z } from 'zod';

export const CorruptPlanSchema = z
  .object({
    /** The segments to open and exercise, in order; a case is reported by its index here. */
    names: z.array(z.string().min(1)).min(1),
  })
  .strict();
export type CorruptPlan = z.infer<typeof CorruptPlanSchema>;

/** The calls the child makes on each segment, in this order (it stops after a failed open). */
export const OPS = [
  'open',
  'stats',
  'qsize',
  'drain',
  'putNowait',
  'getNowait',
  'get-timeout',
  'taskDone',
  'join-timeout',
  'stats-after',
  'qsize-after',
  'shutdown',
] as const;
export type Op = (typeof OPS)[number];

/** One call: ok, a QueueError's code, or anything else thrown (`untyped`, which fails the test). */
export const StepSchema = z
  .object({
    op: z.enum(OPS),
    ok: z.boolean(),
    code: z.string().optional(),
    untyped: z.string().optional(),
  })
  .strict();
export type Step = z.infer<typeof StepSchema>;

const StatsViewSchema = z.object({ capacity: z.number(), count: z.number(), usedBytes: z.number() }).strict();

export const CaseResultSchema = z
  .object({
    i: z.number().int().nonnegative(),
    steps: z.array(StepSchema),
    /** What the opened handle says (absent when open failed). */
    capacityBytes: z.number().optional(),
    maxMessageBytes: z.number().optional(),
    stats: z.array(StatsViewSchema),
    qsize: z.array(z.number()),
    /** Length of every message the drain returned. */
    lengths: z.array(z.number()),
    /** False when the drain returned more messages than the ring can hold records. */
    drainBounded: z.boolean(),
    /** A probe put after a drain to empty, then taken back: the same bytes or not. */
    roundTrip: z.enum(['same', 'different', 'skipped']),
  })
  .strict();
export type CaseResult = z.infer<typeof CaseResultSchema>;
