import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { RigError } from '../errors.ts';
import { TargetNameSchema, TargetUrlSchema } from '../run/env.ts';
import { ProfileSchema } from './profile.ts';
import { readTextFile } from './text-file.ts';
import { formatZodIssues } from './zod-error.ts';

/**
 * `rig.config.json` at the repository root (optional): profile overrides or whole new profiles,
 * default targets, and extra thresholds files. Validated once at start, then frozen.
 */
export const RigConfigSchema = z
  .object({
    $schema: z.string().optional(),
    /** Per profile: a partial override of a built-in profile, or a complete new profile. */
    profiles: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), ProfileSchema.partial()).default({}),
    /** Default external targets, as with --target name=url. */
    targets: z.record(TargetNameSchema, TargetUrlSchema).default({}),
    /** Extra thresholds files, relative to the repository root. */
    thresholds: z.array(z.string()).default([]),
    /** `rig site`: runs kept per profile (older ones are summarised), and runs that keep their Allure report. */
    site: z
      .object({
        keep: z.number().int().positive().default(50),
        allureKeep: z.number().int().nonnegative().default(3),
      })
      .strict()
      .default({ keep: 50, allureKeep: 3 }),
  })
  .strict();

export type RigConfig = Readonly<z.infer<typeof RigConfigSchema>>;

export function loadRigConfig(root: string, file = path.join(root, 'rig.config.json')): RigConfig {
  if (!existsSync(file)) return Object.freeze(RigConfigSchema.parse({}));
  let json: unknown;
  try {
    json = JSON.parse(readTextFile(file));
  } catch (error) {
    throw new RigError('RIG_CONFIG_INVALID', `${path.relative(root, file)}: ${(error as Error).message}`);
  }
  const parsed = RigConfigSchema.safeParse(json);
  if (!parsed.success) {
    throw new RigError(
      'RIG_CONFIG_INVALID',
      `${path.relative(root, file)}: ${formatZodIssues(parsed.error)}`,
    );
  }
  return Object.freeze(parsed.data);
}
