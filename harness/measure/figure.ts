import { z } from 'zod';

export const StatsSchema = z
  .object({
    n: z.number().int().nonnegative(),
    min: z.number(),
    p50: z.number(),
    p90: z.number(),
    p95: z.number(),
    p99: z.number(),
    max: z.number(),
    mean: z.number(),
    sd: z.number(),
    ci95: z.tuple([z.number(), z.number()]),
    ciMethod: z.enum(['bootstrap', 'order-statistic', 't', 'none']),
  })
  .strict();

/** `<system>.<operation>[.<variant>...].<statistic>`: lower-case words, digits, `-`, `_`, `+`. */
export const FIGURE_ID = /^[a-z0-9][a-z0-9_-]*(\.[A-Za-z0-9_+-]+)+$/;

export const ReferenceSchema = z
  .object({
    /** The same-run reference figure (a memcpy, a bare server, postMessage ...). */
    id: z.string().regex(FIGURE_ID),
    value: z.number(),
    /** value / reference.value, in the figure's own unit sense (higher = more than the reference). */
    ratio: z.number(),
    /** 95% interval of the ratio, from interleaved A/B windows (bootstrap over the pairs). */
    ratioCi95: z.tuple([z.number(), z.number()]).optional(),
    /** Number of interleaved A/B pairs behind the ratio. */
    pairs: z.number().int().positive().optional(),
  })
  .strict();

/** What a suite gives `recordFigure`; the run fills in the rest. */
export const FigureInputSchema = z
  .object({
    id: z.string().regex(FIGURE_ID, 'must look like system.operation.variant.statistic'),
    system: z.string().min(1).optional(),
    suite: z.string().min(1).optional(),
    value: z.number().refine(Number.isFinite, 'must be a finite number'),
    unit: z.string(),
    better: z.enum(['higher', 'lower']),
    n: z.number().int().nonnegative(),
    stats: StatsSchema.optional(),
    method: z.string().min(1),
    reference: ReferenceSchema.extend({ ratio: z.number().optional() }).optional(),
    valid: z.boolean().default(true),
    invalidReason: z.string().optional(),
    /** Time series for charts: [milliseconds since the measurement began, value]. */
    series: z.array(z.tuple([z.number(), z.number()])).optional(),
    /** Percentile curve for charts: [percentile 0-100, value in `unit`]. */
    percentiles: z.array(z.tuple([z.number(), z.number()])).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    /**
     * How the gate compares runs: `log` (relative change; positive values that scale, such as
     * latencies and rates) or `linear` (absolute difference; signed values and values near zero,
     * such as growth, overheads and counts). Default: inferred from the calibrated values.
     */
    scale: z.enum(['log', 'linear']).optional(),
  })
  .strict();

export const FigureSchema = FigureInputSchema.extend({
  reference: ReferenceSchema.optional(),
  system: z.string().min(1),
  suite: z.string().min(1),
  runId: z.string(),
  profile: z.string(),
  test: z.string().optional(),
  at: z.string(),
}).strict();

export type Stats = z.infer<typeof StatsSchema>;
export type FigureInput = z.input<typeof FigureInputSchema>;
export type Figure = z.infer<typeof FigureSchema>;
