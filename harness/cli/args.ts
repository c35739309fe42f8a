import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { RigError } from '../errors.ts';
import { TargetNameSchema, TargetUrlSchema } from '../run/env.ts';

export function splitList(value: string | undefined): string[] | undefined {
  if (!value) return undefined;
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return list.length ? list : undefined;
}

/** `--target name=url` (repeatable) -> { name: url }; validates the URL (http, https, ws, wss). */
export function parseTargets(values: string[] | undefined): Record<string, string> {
  const targets: Record<string, string> = {};
  for (const entry of values ?? []) {
    const eq = entry.indexOf('=');
    const name = entry.slice(0, eq);
    const url = entry.slice(eq + 1);
    if (eq <= 0 || !TargetNameSchema.safeParse(name).success) {
      throw new RigError('RIG_TARGET_INVALID', `--target "${entry}" must look like name=http://host:port`);
    }
    const parsed = TargetUrlSchema.safeParse(url);
    if (!parsed.success)
      throw new RigError(
        'RIG_TARGET_INVALID',
        `--target ${name}: "${url}" ${parsed.error.issues[0]?.message}`,
      );
    targets[name] = parsed.data;
  }
  return targets;
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/** parseArgs that turns its TypeErrors into one-line usage errors. */
export function parse(
  args: string[],
  options: Options,
  allowPositionals = false,
): { values: Record<string, string | boolean | string[] | boolean[] | undefined>; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
    });
    return {
      values: parsed.values as Record<string, string | boolean | string[] | undefined>,
      positionals: parsed.positionals,
    };
  } catch (error) {
    throw new RigError('RIG_USAGE', (error as Error).message);
  }
}

/**
 * `--summary FILE`: the file the Markdown verdict table is appended to; it must name a file in an
 * existing folder (GitHub Actions: "$GITHUB_STEP_SUMMARY", empty outside a workflow).
 */
export function summaryFile(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const file = path.resolve(value);
  if (value === '' || !existsSync(path.dirname(file)))
    throw new RigError(
      'RIG_USAGE',
      `--summary needs a file in an existing folder (got "${value}"); in GitHub Actions: --summary "$GITHUB_STEP_SUMMARY"`,
    );
  return file;
}
