import { z } from 'zod';
import { QueueError } from '../errors.ts';

export const NAME = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,200}$/, 'a queue name is 1-200 characters of A-Z a-z 0-9 . _ -');

const SPIN = z.number().int().min(0).max(10_000_000);

export const HandleOptionsSchema = z
  .object({
    /** `value` (node:v8 serialisation, the default) or `raw` (put takes bytes, get returns Buffers). */
    mode: z.enum(['value', 'raw']).default('value'),
    /** Busy-wait iterations before a waiter sleeps on the futex (0 = sleep at once). */
    spin: SPIN.default(200),
  })
  .strict();

export const CreateOptionsSchema = HandleOptionsSchema.extend({
  /** Ring size in bytes, a multiple of 8, at least 64. Default 1 MiB. */
  capacityBytes: z
    .number()
    .int()
    .min(64)
    .max(2 ** 40)
    .refine((n) => n % 8 === 0, 'capacityBytes must be a multiple of 8')
    .default(1 << 20),
  /** Largest payload in bytes; default and maximum capacityBytes - 8. */
  maxMessageBytes: z.number().int().min(1).optional(),
}).strict();

export const WaitOptionsSchema = z
  .object({
    /** Wait when the queue is full/empty (default true); false behaves like the *Nowait calls. */
    block: z.boolean().default(true),
    /** Milliseconds to wait at most; absent waits forever. */
    timeout: z.number().min(0).finite().optional(),
  })
  .strict();

export const JoinOptionsSchema = z
  .object({
    /** Milliseconds to wait at most; absent waits forever. */
    timeout: z.number().min(0).finite().optional(),
  })
  .strict();

export const SyncWaitOptionsSchema = z
  .object({
    timeout: z.number().min(0).finite().optional(),
    spin: SPIN.optional(),
  })
  .strict();

export type JoinOptions = z.input<typeof JoinOptionsSchema>;
export type HandleOptions = z.input<typeof HandleOptionsSchema>;
export type CreateOptions = z.input<typeof CreateOptionsSchema>;
export type WaitOptions = z.input<typeof WaitOptionsSchema>;
export type SyncWaitOptions = z.input<typeof SyncWaitOptionsSchema>;

/** Parse or throw QUEUE_INVALID_ARGUMENT naming the field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues
    .map((i) => `${[what, ...i.path.map(String)].join('.')}: ${i.message}`)
    .join('; ');
  throw new QueueError('QUEUE_INVALID_ARGUMENT', issues);
}
