import { z } from 'zod';
import { RigError } from '../errors.ts';
import { readRigEnv } from '../run/env.ts';
import { parseOrThrow } from './zod-error.ts';

/** The suite categories rig knows; `unit` is the systems' and harness's own unit tests. */
export const SUITE_CATEGORIES = [
  'unit',
  'stress',
  'latency',
  'load',
  'producer-consumer',
  'openai-compat',
  'cross-platform',
  'fault',
  'bench',
  'e2e',
  'harness',
  'instructions',
  'security',
] as const;
export type SuiteCategory = (typeof SUITE_CATEGORIES)[number];

export const ProfileSchema = z
  .object({
    name: z.string().min(1),
    description: z.string(),
    /** Suite categories this profile runs. */
    suites: z.array(z.enum(SUITE_CATEGORIES)).min(1),
    /** Multiplier for operation counts: `profile.count(10_000)`. */
    scale: z.number().positive(),
    /** One measured window of a load or benchmark step, in milliseconds. */
    durationMs: z.number().int().positive(),
    /** Warm-up before a measured window, in milliseconds. */
    warmupMs: z.number().int().nonnegative(),
    /** Long-running stability / soak window, in milliseconds. */
    soakMs: z.number().int().positive(),
    /** Fault injections (kill -9 and the like) per fault suite. */
    kills: z.number().int().positive(),
    /** A latency figure with fewer samples is marked invalid. */
    minSamples: z.number().int().positive(),
    /** Bootstrap resamples for confidence intervals. */
    resamples: z.number().int().min(100),
    /** Per-test timeout for vitest, in milliseconds. */
    testTimeoutMs: z.number().int().positive(),
    /** A baseline change smaller than this share (0.2 = 20%) is noise, whatever the intervals say. */
    noiseTolerance: z.number().min(0).max(10),
  })
  .strict();

export type ProfileSpec = z.infer<typeof ProfileSchema>;

export interface Profile extends Readonly<ProfileSpec> {
  /** `base` operations scaled by the profile, at least 1. */
  count(base: number): number;
  /** A duration scaled like counts, clamped to [minMs, soakMs]. */
  duration(baseMs: number, minMs?: number): number;
}

const ALL_SUITES = SUITE_CATEGORIES.filter((s) => s !== 'bench');

export const BUILTIN_PROFILES: Readonly<Record<string, ProfileSpec>> = Object.freeze({
  smoke: {
    name: 'smoke',
    description: 'every suite, small: the default `npm test` (under 10 minutes on 2 cores)',
    suites: [...ALL_SUITES],
    scale: 1,
    durationMs: 1_000,
    warmupMs: 200,
    soakMs: 3_000,
    kills: 5,
    minSamples: 200,
    resamples: 400,
    testTimeoutMs: 120_000,
    noiseTolerance: 0.35,
  },
  nightly: {
    name: 'nightly',
    description: 'long stress, soak and fault injection for the nightly CI matrix',
    suites: [...ALL_SUITES, 'bench'],
    scale: 20,
    durationMs: 10_000,
    warmupMs: 2_000,
    soakMs: 600_000,
    kills: 100,
    minSamples: 1_000,
    resamples: 2_000,
    testTimeoutMs: 1_800_000,
    noiseTolerance: 0.15,
  },
  bench: {
    name: 'bench',
    description: 'benchmarks only, long enough for tight confidence intervals',
    suites: ['bench', 'latency', 'load', 'instructions'],
    scale: 10,
    durationMs: 5_000,
    warmupMs: 1_000,
    soakMs: 60_000,
    kills: 5,
    minSamples: 1_000,
    resamples: 1_000,
    testTimeoutMs: 900_000,
    noiseTolerance: 0.15,
  },
});

export function makeProfile(spec: ProfileSpec): Profile {
  const checked = parseOrThrow(ProfileSchema, spec, 'RIG_CONFIG_INVALID', `profile ${spec.name}`);
  return Object.freeze({
    ...checked,
    count: (base: number) => Math.max(1, Math.round(base * checked.scale)),
    duration: (baseMs: number, minMs = 50) =>
      Math.min(checked.soakMs, Math.max(minMs, Math.round(baseMs * checked.scale))),
  });
}

export function resolveProfile(name: string, overrides: Partial<ProfileSpec> = {}): Profile {
  const base = BUILTIN_PROFILES[name];
  if (base) return makeProfile({ ...base, ...overrides, name });
  // A profile defined in rig.config.json must be complete.
  if (Object.keys(overrides).length > 0) {
    return makeProfile({ description: `custom profile ${name}`, ...overrides, name } as ProfileSpec);
  }
  throw new RigError(
    'RIG_PROFILE_UNKNOWN',
    `unknown profile "${name}"; allowed: ${Object.keys(BUILTIN_PROFILES).join(', ')} (or one defined in rig.config.json)`,
  );
}

let current: Profile | undefined;

/**
 * The profile of the current run, read once from RIG_PROFILE (set by `rig run`; `smoke` when a
 * suite runs under plain vitest) and RIG_PROFILE_OVERRIDES (JSON).
 */
export function profile(): Profile {
  if (!current) {
    const env = readRigEnv();
    current = resolveProfile(
      env.RIG_PROFILE ?? 'smoke',
      (env.RIG_PROFILE_OVERRIDES ?? {}) as Partial<ProfileSpec>,
    );
  }
  return current;
}
