import { z } from 'zod';
import { formatZodIssues } from '../config/zod-error.ts';
import { RigError } from '../errors.ts';
import type { ScenarioContext } from './scenario-client.ts';

/** One task of a user class: makes its requests through `ctx.http` (or times work with `ctx.measure`). */
export type ScenarioTaskFn = (ctx: ScenarioContext) => unknown | Promise<unknown>;

/** Defaults of every optional field, in one place. */
export const SCENARIO_DEFAULTS = Object.freeze({
  weight: 1,
  /** Seconds, sampled uniformly per iteration (Locust's `between(1, 3)`). */
  thinkTimeS: Object.freeze({ min: 1, max: 3 }),
  seed: 1,
  /** Width of one time-series bucket, ms. */
  bucketMs: 1_000,
  /** A request with no byte for this long fails with a TimeoutError, ms. */
  requestTimeoutMs: 30_000,
  /** At the end, how long users may take to finish their current task before it is aborted, ms. */
  gracefulStopMs: 30_000,
  label: 'scenario',
});

const fn = z.custom<ScenarioTaskFn>((v) => typeof v === 'function', {
  message: 'must be a function (ctx) => Promise',
});

const ThinkTimeSchema = z
  .object({ min: z.number().min(0).finite(), max: z.number().min(0).finite() })
  .strict()
  .refine((t) => t.max >= t.min, { message: 'max must be >= min', path: ['max'] });

const TaskSchema = z
  .object({
    /** Names the task; a failure outside any request is counted under `task:<name>`. */
    name: z.string().min(1),
    /** Relative chance of being picked on each iteration. */
    weight: z.number().positive().finite().default(SCENARIO_DEFAULTS.weight),
    run: fn,
  })
  .strict();

const UserClassSchema = z
  .object({
    name: z.string().min(1),
    /** Share of the spawned users (weight / sum of weights), apportioned exactly, not drawn. */
    weight: z.number().positive().finite().default(SCENARIO_DEFAULTS.weight),
    /** Think time after each task, seconds, uniform in [min, max]; `{ min: 0, max: 0 }` for a fast user. */
    thinkTimeS: ThinkTimeSchema.default(SCENARIO_DEFAULTS.thinkTimeS),
    tasks: z
      .array(TaskSchema)
      .min(1)
      .refine((tasks) => new Set(tasks.map((t) => t.name)).size === tasks.length, 'task names must differ'),
  })
  .strict();

const StageSchema = z
  .object({
    /** Users to reach (or come down to) in this stage. */
    users: z.number().int().min(0),
    /** Users started (or stopped) per second on the way there. */
    spawnRate: z.number().positive().finite(),
    /** The sustained window once there, seconds: the stage's figures are measured over it alone. */
    holdS: z.number().min(0).finite(),
  })
  .strict();

export const ScenarioOptionsSchema = z
  .object({
    /** The target: any HTTP(S) server. Task paths resolve against it. */
    baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
    users: z
      .array(UserClassSchema)
      .min(1)
      .refine(
        (classes) => new Set(classes.map((c) => c.name)).size === classes.length,
        'class names must differ',
      ),
    stages: z.array(StageSchema).min(1),
    seed: z.number().int().default(SCENARIO_DEFAULTS.seed),
    bucketMs: z.number().int().min(10).default(SCENARIO_DEFAULTS.bucketMs),
    requestTimeoutMs: z.number().int().positive().default(SCENARIO_DEFAULTS.requestTimeoutMs),
    gracefulStopMs: z.number().int().min(0).default(SCENARIO_DEFAULTS.gracefulStopMs),
    /** Headers on every request (an API key for an external target). */
    headers: z.record(z.string(), z.string()).optional(),
    /** Progress lines start with it. */
    label: z.string().min(1).default(SCENARIO_DEFAULTS.label),
    /** Aborting it ends the run at once: in-flight requests are abandoned, the result says `aborted`. */
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, 'must be an AbortSignal').optional(),
  })
  .strict();

/** What a caller gives `runScenario`: every field with a default may be left out. */
export type ScenarioOptions = z.input<typeof ScenarioOptionsSchema>;
export type ScenarioConfig = Readonly<z.output<typeof ScenarioOptionsSchema>>;
export type ScenarioUserClass = ScenarioConfig['users'][number];
export type ScenarioStage = ScenarioConfig['stages'][number];

/** Validate once, before anything starts; the error names the path: `stages.1.spawnRate: ...`. */
export function parseScenario(input: ScenarioOptions): ScenarioConfig {
  const parsed = ScenarioOptionsSchema.safeParse(input);
  if (!parsed.success) {
    throw new RigError('RIG_LOAD_INVALID', `scenario: ${formatZodIssues(parsed.error)}`, {
      hint: 'fix the named field of the scenario (docs/ARCHITECTURE.md, "User scenarios" lists the options)',
    });
  }
  return Object.freeze(parsed.data);
}
