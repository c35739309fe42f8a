import type { z } from 'zod';
import { RigError, type RigErrorCode } from '../errors.ts';

/** One line per issue: `systems.inference.port: must be 1-65535 (got 70000)`. */
export function formatZodIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('; ');
}

/** Parse or throw a RigError whose message names the path and the allowed values. */
export function parseOrThrow<T extends z.ZodType>(
  schema: T,
  input: unknown,
  code: RigErrorCode,
  where: string,
): z.output<T> {
  const result = schema.safeParse(input);
  if (!result.success) throw new RigError(code, `${where}: ${formatZodIssues(result.error)}`);
  return result.data;
}
