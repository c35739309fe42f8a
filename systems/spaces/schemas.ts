// Every body, query and event payload the relay accepts, as strict zod schemas (unknown keys fail).
import { z } from 'zod';
import { SpacesError } from './errors.ts';

/** Space ids appear in URLs and room names: 1-64 of letters, digits, `_` and `-`, starting alnum. */
export const SpaceIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'letters, digits, _ and -, 1-64 characters, starting alnum');
export const RequestIdSchema = z.string().min(1).max(100);

/** Any JSON value except null/undefined at the top (a request needs an input). */
const JsonInput = z.custom<unknown>(
  (v) => v !== undefined && v !== null,
  'required (any JSON value but null)',
);

export const SubmitBodySchema = z.object({ space_id: SpaceIdSchema, input: JsonInput }).strict();
export const StatusQuerySchema = z.object({ request_id: RequestIdSchema }).strict();
export const SpaceParamsSchema = z.object({ id: SpaceIdSchema }).strict();

export const CreateSpaceBodySchema = z
  .object({ space_id: SpaceIdSchema, name: z.string().min(1).max(200).optional() })
  .strict();
export const PatchSpaceBodySchema = z
  .object({
    name: z.string().min(1).max(200).optional(),
    enabled: z.boolean().optional(),
    /** Issue a new app token (the old one stops working; its connections are dropped). */
    rotate_token: z.literal(true).optional(),
  })
  .strict();

export const FEATURES = ['submissions', 'registrations', 'web_ui'] as const;
export type Feature = (typeof FEATURES)[number];
export type Features = Record<Feature, boolean>;
export const FeaturesPatchSchema = z
  .object({ submissions: z.boolean(), registrations: z.boolean(), web_ui: z.boolean() })
  .partial()
  .strict();

export const HistoryQuerySchema = z
  .object({
    space_id: SpaceIdSchema.optional(),
    status: z.enum(['queued', 'dispatched', 'completed', 'failed', 'timeout']).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    /** `next_cursor` of the previous page. */
    cursor: z.coerce.number().int().min(1).optional(),
  })
  .strict();

// socket.io events (app namespace `/`).
export const RegisterSchema = z
  .object({
    space_id: SpaceIdSchema,
    token: z.string().min(1).max(512),
    /** Requests this app takes at once; default 1, at most `maxInFlightPerApp`. */
    concurrency: z.number().int().min(1).optional(),
  })
  .strict();

const AppErrorSchema = z.union([
  z.string().min(1).max(10_000),
  z.object({ code: z.string().max(100).optional(), message: z.string().max(10_000) }).strict(),
]);

export const ResultSchema = z.union([
  z
    .object({
      request_id: RequestIdSchema,
      output: z.custom<unknown>((v) => v !== undefined, 'required'),
      attempt: z.number().int().min(1).optional(),
    })
    .strict(),
  z
    .object({
      request_id: RequestIdSchema,
      error: AppErrorSchema,
      attempt: z.number().int().min(1).optional(),
    })
    .strict(),
]);
export type ResultPayload = z.output<typeof ResultSchema>;

// socket.io events (viewer namespace `/viewers`).
export const WatchSchema = z
  .object({ space_id: SpaceIdSchema, request_ids: z.array(RequestIdSchema).max(100).optional() })
  .strict();
export const FollowSchema = z.object({ request_id: RequestIdSchema }).strict();

/** Parses `value` or throws SPACES_INVALID_INPUT naming the field (`where` prefixes the path). */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const msg = r.error.issues
    .map((i) => {
      const p = [where, ...i.path.map(String)].join('.');
      return i.code === 'unrecognized_keys'
        ? `${p}: unknown field(s) ${i.keys.join(', ')}`
        : `${p}: ${i.message}`;
    })
    .join('; ');
  throw new SpacesError('SPACES_INVALID_INPUT', msg);
}
