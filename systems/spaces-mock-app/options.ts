// Start options of the spaces-mock-app system, and how they become mock-app.ts flags.
import { z } from 'zod';

export const MockAppOptionsSchema = z
  .object({
    /** The relay's base URL, e.g. http://127.0.0.1:8300. */
    url: z.url({ protocol: /^https?$/ }).optional(),
    /** The space to register for. */
    space: z.string().min(1).optional(),
    /** The space's app token (POST /admin/spaces gives it). */
    token: z.string().min(1).optional(),
    delayMs: z.number().int().min(0).optional(),
    failRate: z.number().min(0).max(1).optional(),
    concurrency: z.number().int().min(1).optional(),
    verbose: z.boolean().optional(),
  })
  .strict();
export type SpacesMockAppOptions = z.input<typeof MockAppOptionsSchema>;

/** The options as mock-app.ts flags (absent ones fall back to SPACES_MOCK_* in the child). */
export function optionsToArgs(o: SpacesMockAppOptions): string[] {
  const args: string[] = [];
  if (o.url !== undefined) args.push('--url', o.url);
  if (o.space !== undefined) args.push('--space', o.space);
  if (o.token !== undefined) args.push('--token', o.token);
  if (o.delayMs !== undefined) args.push('--delay-ms', String(o.delayMs));
  if (o.failRate !== undefined) args.push('--fail-rate', String(o.failRate));
  if (o.concurrency !== undefined) args.push('--concurrency', String(o.concurrency));
  if (o.verbose) args.push('--verbose');
  return args;
}
