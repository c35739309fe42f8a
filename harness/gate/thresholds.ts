import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readTextFile } from '../config/text-file.ts';
import { formatZodIssues } from '../config/zod-error.ts';
import { RigError } from '../errors.ts';
import { toPosixPath } from '../run/paths.ts';

const RuleListSchema = z.array(z.string().min(1)).min(1);
const EntrySchema = z.union([
  RuleListSchema,
  z
    .object({
      rules: RuleListSchema,
      /** Only these profiles judge the rule; default all. */
      profiles: z.array(z.string()).optional(),
      description: z.string().optional(),
    })
    .strict(),
]);

/** A thresholds file: figure id (or glob with `*`) -> rules. Keys starting with `$` are comments. */
export const ThresholdsFileSchema = z.record(z.string(), z.union([EntrySchema, z.string()]));

export interface ThresholdRule {
  /** The key it came from (id or glob). */
  pattern: string;
  source: string;
  text: string;
  /** `ratio` rules judge figure.reference.ratio instead of figure.value. */
  subject: 'value' | 'ratio';
  op: '<' | '<=' | '>' | '>=' | '==';
  limit: number;
  /** Unit of `limit`; undefined means the figure's own unit. */
  unit: string | undefined;
  profiles: string[] | undefined;
}

const RULE = /^\s*(ratio\s+)?(<=|>=|==|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*(.*?)\s*$/i;

export function parseRule(text: string, pattern: string, source: string, profiles?: string[]): ThresholdRule {
  const m = RULE.exec(text);
  if (!m) {
    throw new RigError('RIG_THRESHOLDS_INVALID', `${source}: ${pattern}: cannot read rule "${text}"`);
  }
  const unit = m[4] ? m[4] : undefined;
  return {
    pattern,
    source,
    text,
    subject: m[1] ? 'ratio' : 'value',
    op: m[2] as ThresholdRule['op'],
    limit: Number(m[3]),
    unit: m[1] && unit === 'x' ? undefined : unit,
    profiles,
  };
}

export function parseThresholds(input: unknown, source: string): ThresholdRule[] {
  const parsed = ThresholdsFileSchema.safeParse(input);
  if (!parsed.success)
    throw new RigError('RIG_THRESHOLDS_INVALID', `${source}: ${formatZodIssues(parsed.error)}`);
  const rules: ThresholdRule[] = [];
  for (const [pattern, entry] of Object.entries(parsed.data)) {
    if (pattern.startsWith('$')) continue;
    if (typeof entry === 'string') {
      throw new RigError(
        'RIG_THRESHOLDS_INVALID',
        `${source}: ${pattern}: rules must be an array, e.g. ["< 50us"]`,
      );
    }
    const list = Array.isArray(entry) ? entry : entry.rules;
    const profiles = Array.isArray(entry) ? undefined : entry.profiles;
    for (const text of list) rules.push(parseRule(text, pattern, source, profiles));
  }
  return rules;
}

/** Every `thresholds/*.json` of the repo, plus extra files given with --thresholds. */
export function loadThresholds(root: string, extra: string[] = []): ThresholdRule[] {
  const dir = path.join(root, 'thresholds');
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => path.join(dir, f))
    : [];
  const rules: ThresholdRule[] = [];
  for (const file of [...files, ...extra]) {
    let json: unknown;
    try {
      json = JSON.parse(readTextFile(file));
    } catch (error) {
      throw new RigError('RIG_THRESHOLDS_INVALID', `${file}: ${(error as Error).message}`);
    }
    rules.push(...parseThresholds(json, toPosixPath(path.relative(root, file))));
  }
  return rules;
}

export function globMatches(pattern: string, id: string): boolean {
  if (!pattern.includes('*')) return pattern === id;
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(id);
}
