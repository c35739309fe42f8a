// Every body, query and param goes through zod here; the first issue becomes a coded error that
// names the field. Unsafe ids and keys get STORAGE_BAD_KEY, everything else STORAGE_INVALID_INPUT.
import { z } from 'zod';
import { StorageError } from './errors.ts';

export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0] as z.core.$ZodIssue;
  const field = [where, ...issue.path.map(String)].join('.');
  const badKey =
    issue.code === 'custom' && (issue.params as { badKey?: boolean } | undefined)?.badKey === true;
  const message =
    issue.code === 'unrecognized_keys'
      ? `${where} has unknown field(s) ${issue.keys.join(', ')}`
      : `${field}: ${issue.message}`;
  throw new StorageError(badKey ? 'STORAGE_BAD_KEY' : 'STORAGE_INVALID_INPUT', message);
}

/** A query flag: true/1/yes or false/0/no. */
export const QueryBool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A query integer (query values arrive as strings). */
export function queryInt(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+$/, 'must be a non-negative integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}
