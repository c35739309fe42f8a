// The RIG_* environment contract: what `rig run` hands its vitest and Playwright workers, and what a
// user may set.
// This module is the only place that names, encodes or reads those variables (docs/environment.md).
import path from 'node:path';
import { z } from 'zod';
import { formatZodIssues } from '../config/zod-error.ts';
import { RigError } from '../errors.ts';

/** Protocols an external target may use: HTTP servers, and WebSocket servers (readiness: TCP). */
export const TARGET_PROTOCOLS = ['http', 'https', 'ws', 'wss'] as const;

/** A target or system name: what `--target name=url` and RIG_TARGET_<NAME> are keyed by. */
export const TargetNameSchema = z.string().regex(/^[a-z0-9-]+$/, 'must be lower-case letters, digits and -');

/** An external target's URL: http(s):// or ws(s)://, without a trailing slash. */
export const TargetUrlSchema = z
  .url({
    protocol: new RegExp(`^(${TARGET_PROTOCOLS.join('|')})$`),
    error: `must be a ${TARGET_PROTOCOLS.map((p) => `${p}://`).join(', ')} URL`,
  })
  .transform((url) => url.replace(/\/$/, ''));

/** A JSON-encoded value, validated by `schema` once decoded. */
function json<S extends z.ZodType>(schema: S) {
  return z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `not JSON (${(error as Error).message})` });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

const positiveInt = z.coerce.number().int().positive();

/** `I/N`: shard I of N, 1 <= I <= N, as vitest's `--shard` takes it. */
export const ShardSchema = z
  .string()
  .regex(/^[1-9][0-9]*\/[1-9][0-9]*$/, 'must look like I/N, e.g. 1/3')
  .refine((text) => {
    const [index, count] = text.split('/').map(Number);
    return (index as number) <= (count as number);
  }, 'must have 1 <= I <= N');

/** An Allure label's name as ALLURE_LABEL_<name> carries it: letters, digits and _. */
const AllureLabelNameSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be letters, digits and _');

/** An Allure label's value here: letters, digits, space and `. _ : + -` (an environment's name). */
const AllureLabelValueSchema = z.string().regex(/^[A-Za-z0-9._:+ -]+$/);

/**
 * `name=value,name=value`: labels every Allure result of the run carries (e.g. os and node); they
 * also name the run's Allure environment (harness/report/allure.ts).
 */
export const AllureLabelsSchema = z.string().transform((text, ctx) => {
  const labels: Record<string, string> = {};
  for (const part of text.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = part.slice(0, eq);
    const value = part.slice(eq + 1).trim();
    if (
      eq <= 0 ||
      !AllureLabelNameSchema.safeParse(name).success ||
      !AllureLabelValueSchema.safeParse(value).success
    ) {
      ctx.addIssue({
        code: 'custom',
        message: `"${part}" must look like name=value (name: letters, digits, _; value: letters, digits, space, . _ : + -)`,
      });
      return z.NEVER;
    }
    labels[name] = value;
  }
  return labels;
});

/**
 * Every RIG_* variable with one name (RIG_TARGET_<NAME> is keyed by its target; see targetFor).
 * An empty value is the same as an unset one.
 */
export const RigEnvSchema = z.object({
  // Set by `rig run` for its vitest and Playwright workers:
  /** The run's directory (reports/<run-id>); figures.jsonl and the reporters write there. */
  RIG_RUN_DIR: z.string().optional(),
  /** The run's id (the directory's name). */
  RIG_RUN_ID: z.string().optional(),
  /** The profile's name; `smoke` when unset. */
  RIG_PROFILE: z
    .string()
    .regex(/^[a-z][a-z0-9-]*$/)
    .optional(),
  /** The profile's fields from rig.config.json (JSON), validated when the profile resolves. */
  RIG_PROFILE_OVERRIDES: json(z.record(z.string(), z.unknown())).optional(),
  /** External targets, JSON `{ name: url }`: --target and rig.config.json's targets. */
  RIG_TARGETS: json(z.record(TargetNameSchema, TargetUrlSchema)).optional(),
  /** The per-test and hook timeout of vitest and Playwright, ms (the profile's testTimeoutMs). */
  RIG_TEST_TIMEOUT_MS: positiveInt.optional(),
  /** --inject-slowdown F: slow every measured operation by F of its own time (0 < F <= 10). */
  RIG_INJECT_SLOWDOWN: z.coerce.number().gt(0).lte(10).optional(),
  /** --shard I/N: this run is shard I of N; vitest also writes its blob report (harness/run/shard.ts). */
  RIG_SHARD: ShardSchema.optional(),
  // Set by the user, passed through by `rig run`:
  /** The provider a system starts with when the suite names none and the system has it. */
  RIG_PROVIDER: z
    .string()
    .regex(/^[a-z]+$/)
    .optional(),
  /** Seed of the fault suites' random choices, to replay a run. */
  RIG_SEED: z.coerce.number().int().nonnegative().optional(),
  /** Least interval between progress lines on stderr, ms (default 2000). */
  RIG_PROGRESS_MS: z.coerce.number().int().nonnegative().optional(),
  /** Allure's history file, shared by runs so that trends appear. */
  RIG_ALLURE_HISTORY: z.string().optional(),
  /** Labels of every Allure result, `os=ubuntu-24.04,node=22`: one Allure environment per value set. */
  RIG_ALLURE_LABELS: AllureLabelsSchema.optional(),
  /** The Chromium that browser suites launch; default /usr/bin/chromium (harness/run/chromium.ts). */
  RIG_CHROMIUM: z.string().optional(),
});

export type RigEnv = z.output<typeof RigEnvSchema>;
export type RigEnvName = keyof RigEnv;
/** What `encodeRigEnv` takes: the decoded values. */
export type RigEnvValues = { [K in RigEnvName]?: RigEnv[K] };

/** The variables that name a target: RIG_TARGET_INFERENCE, RIG_TARGET_HTTP... */
export function targetEnvName(name: string): string {
  return `RIG_TARGET_${name.toUpperCase().replace(/-/g, '_')}`;
}

/** The RIG_* variables of `env` that RigEnvSchema names, empty ones left out. */
function pick(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(RigEnvSchema.shape)) {
    const value = env[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

/**
 * The RIG_* environment, validated: a bad value fails with RIG_CONFIG_INVALID naming the
 * variable, e.g. `environment RIG_TARGETS.inference: must be a http://, ... URL`.
 */
export function readRigEnv(env: NodeJS.ProcessEnv = process.env): RigEnv {
  const parsed = RigEnvSchema.safeParse(pick(env));
  if (!parsed.success)
    throw new RigError('RIG_CONFIG_INVALID', `environment ${formatZodIssues(parsed.error)}`, {
      hint: 'fix or unset the named variable (docs/environment.md lists them)',
    });
  return parsed.data;
}

/** Encodes values for a child's environment; an undefined value becomes '' (cleared, not inherited). */
export function encodeRigEnv(values: RigEnvValues): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    out[name] = value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return out;
}

/**
 * The external target of a system (or of a plain target such as `http`): RIG_TARGETS (from
 * --target and rig.config.json) first, then RIG_TARGET_<NAME>. The only answer to "is there an
 * external target for this?": the provider choice and the external provider both ask it.
 */
export function targetFor(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const given = readRigEnv(env).RIG_TARGETS?.[name];
  if (given) return given;
  const variable = targetEnvName(name);
  const raw = env[variable];
  if (raw === undefined || raw === '') return undefined;
  const parsed = TargetUrlSchema.safeParse(raw);
  if (!parsed.success)
    throw new RigError('RIG_TARGET_INVALID', `${variable}: "${raw}" ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** Where the current run writes: RIG_RUN_DIR, else reports/adhoc (a suite under plain vitest). */
export function runDirFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(readRigEnv(env).RIG_RUN_DIR ?? path.join('reports', 'adhoc'));
}
