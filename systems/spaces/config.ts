// SpacesConfig: defaults in the schema, then the given object, then SPACES_* environment overrides;
// validated once with strict zod and frozen.
import { z } from 'zod';
import { SpacesError } from './errors.ts';

const MiB = 1024 * 1024;

export const SYNCHRONOUS_CHOICES = ['normal', 'full'] as const;
export type SynchronousMode = (typeof SYNCHRONOUS_CHOICES)[number];

export const SpacesConfigSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8300),
    /** SQLite file; default: a temp file removed on close (nothing survives a restart). */
    dbPath: z.string().min(1).optional(),
    /**
     * WAL sync mode. `normal`: a commit survives a crash of this process, not an OS crash or power
     * loss. `full`: the WAL is fsynced on every commit (one per event-loop tick, batched).
     */
    synchronous: z.enum(SYNCHRONOUS_CHOICES).default('normal'),
    /** Bearer token for /admin routes; default: a random one per start, printed once. */
    adminToken: z.string().min(16).optional(),
    /** A request with no result this long after its submit ends with status `timeout`, ms. */
    requestTimeoutMs: z.number().int().min(10).max(86_400_000).default(120_000),
    /** Queued requests per space; beyond: 429 SPACES_QUEUE_FULL with Retry-After. */
    maxQueuePerSpace: z.number().int().min(1).max(10_000_000).default(10_000),
    /** Retry-After seconds sent with SPACES_QUEUE_FULL. */
    queueFullRetryAfterS: z.number().int().min(1).max(3600).default(1),
    /** Ceiling on the `concurrency` an app may declare at register (requests in flight per app). */
    maxInFlightPerApp: z.number().int().min(1).max(10_000).default(64),
    /** Dispatches per request (first plus re-dispatches after disconnects); then status failed. */
    maxAttempts: z.number().int().min(1).max(1000).default(5),
    /** HTTP body limit, bytes; beyond: 413 SPACES_PAYLOAD_TOO_LARGE. */
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .max(256 * MiB)
      .default(MiB),
    /** socket.io maxHttpBufferSize, bytes: a larger message closes its connection. */
    maxMessageBytes: z
      .number()
      .int()
      .min(1024)
      .max(256 * MiB)
      .default(2 * MiB),
    /** socket.io heartbeat: ping every pingIntervalMs, drop after pingTimeoutMs without pong. */
    pingIntervalMs: z.number().int().min(50).max(3_600_000).default(25_000),
    pingTimeoutMs: z.number().int().min(50).max(3_600_000).default(20_000),
    /** A socket that has not registered this long after connecting is disconnected, ms. */
    registerTimeoutMs: z.number().int().min(50).max(3_600_000).default(30_000),
  })
  .strict();

export type SpacesConfig = Readonly<z.output<typeof SpacesConfigSchema>>;
export type SpacesConfigInput = z.input<typeof SpacesConfigSchema>;

/**
 * What a harness user may pass to `startSystem(spacesSystem, { options })`: every config field but
 * host and port (the harness chooses those). Without `dbPath` the database lives in the start's
 * temp dir; with it, a restart on the same file resumes its requests.
 */
export const SpacesOptionsSchema = SpacesConfigSchema.omit({ host: true, port: true }).partial().strict();
export type SpacesOptions = z.input<typeof SpacesOptionsSchema>;

/** Environment variable -> config field. */
export const ENV_OVERRIDES = {
  SPACES_HOST: 'host',
  SPACES_PORT: 'port',
  SPACES_DB_PATH: 'dbPath',
  SPACES_SYNCHRONOUS: 'synchronous',
  SPACES_ADMIN_TOKEN: 'adminToken',
  SPACES_REQUEST_TIMEOUT_MS: 'requestTimeoutMs',
  SPACES_MAX_QUEUE_PER_SPACE: 'maxQueuePerSpace',
  SPACES_QUEUE_FULL_RETRY_AFTER_S: 'queueFullRetryAfterS',
  SPACES_MAX_IN_FLIGHT_PER_APP: 'maxInFlightPerApp',
  SPACES_MAX_ATTEMPTS: 'maxAttempts',
  SPACES_MAX_BODY_BYTES: 'maxBodyBytes',
  SPACES_MAX_MESSAGE_BYTES: 'maxMessageBytes',
  SPACES_PING_INTERVAL_MS: 'pingIntervalMs',
  SPACES_PING_TIMEOUT_MS: 'pingTimeoutMs',
  SPACES_REGISTER_TIMEOUT_MS: 'registerTimeoutMs',
} as const satisfies Record<string, keyof SpacesConfigInput>;

const STRING_FIELDS = new Set<string>(['host', 'dbPath', 'synchronous', 'adminToken']);

/** Reads the overrides present in `env`, keyed by field, with the variable that gave each. */
export function envOverrides(env: NodeJS.ProcessEnv): {
  values: Map<string, unknown>;
  sources: Map<string, string>;
} {
  const values = new Map<string, unknown>();
  const sources = new Map<string, string>();
  for (const [name, field] of Object.entries(ENV_OVERRIDES)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const numeric = !STRING_FIELDS.has(field) && /^-?\d+(\.\d+)?$/.test(raw.trim());
    values.set(field, numeric ? Number(raw) : raw);
    sources.set(field, name);
  }
  return { values, sources };
}

/**
 * Resolves the config: defaults < `input` < environment overrides. Throws one SpacesError
 * (SPACES_CONFIG_INVALID) whose one-line message names each bad field, what it allows and the
 * env var that gave the bad value. Secrets are never echoed.
 */
export function loadConfig(
  input: SpacesConfigInput = {},
  env: NodeJS.ProcessEnv = process.env,
): SpacesConfig {
  const { values, sources } = envOverrides(env);
  const merged: Record<string, unknown> = { ...input, ...Object.fromEntries(values) };
  const parsed = SpacesConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const line = parsed.error.issues
      .map((issue) => {
        const field = issue.path.map(String).join('.');
        if (issue.code === 'unrecognized_keys') {
          return `spaces has unknown field(s) ${issue.keys.join(', ')}; allowed: ${Object.keys(SpacesConfigSchema.shape).join(', ')}`;
        }
        const from = sources.get(field);
        const value = merged[field];
        const shown = field === 'adminToken' ? '(hidden)' : JSON.stringify(value);
        const got = value !== undefined ? ` (got ${shown}${from ? ` from ${from}` : ''})` : '';
        return `spaces.${field}: ${issue.message}${got}`;
      })
      .join('; ');
    throw new SpacesError('SPACES_CONFIG_INVALID', `invalid config: ${line}`);
  }
  return Object.freeze(parsed.data);
}
