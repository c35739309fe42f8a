// StorageConfig: defaults in the schema, then the given object, then STORAGE_* environment
// overrides; validated once with strict zod and frozen.
import { z } from 'zod';
import { StorageError } from './errors.ts';

export const BACKEND_CHOICES = ['fs', 's3'] as const;
export type BackendName = (typeof BACKEND_CHOICES)[number];

const MiB = 1024 * 1024;
/** SigV4's ceiling for a presigned URL, and ours for a signed one: 7 days. */
export const MAX_EXPIRES_IN_S = 604_800;

export const S3ConfigSchema = z
  .object({
    /** e.g. http://127.0.0.1:9000 for MinIO; omit for AWS. */
    endpoint: z.url({ protocol: /^https?$/ }).optional(),
    region: z.string().min(1).default('us-east-1'),
    bucket: z.string().min(3).max(63).optional(),
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
    /** Path-style URLs (`host/bucket/key`); MinIO needs true. */
    forcePathStyle: z.boolean().default(true),
    /** Prefix for every key this service writes in the bucket, e.g. `rig/`. */
    prefix: z
      .string()
      .regex(/^([A-Za-z0-9._-]+\/)*$/)
      .default(''),
    /** Create the bucket at start when it does not exist. */
    createBucket: z.boolean().default(true),
  })
  .strict();

export const StorageConfigSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8300),
    /** Data directory (fs backend) and spool directory for uploads (both backends); default: a temp dir removed on close. */
    root: z.string().min(1).optional(),
    backend: z.enum(BACKEND_CHOICES).default('fs'),
    s3: S3ConfigSchema.default(() => S3ConfigSchema.parse({})),
    /** HMAC key for signed download URLs; default: random per start (URLs die with the process). */
    signingSecret: z.string().min(16).optional(),
    /** Base of the signed URLs handed out; default: the request's own origin. */
    publicUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** Largest part (and single-part object), bytes; beyond: 413 and nothing stored. */
    maxPartBytes: z
      .number()
      .int()
      .min(1)
      .max(5 * 1024 * MiB)
      .default(64 * MiB),
    /** Smallest part other than the last, bytes (S3: 5 MiB); checked at complete. */
    minPartBytes: z
      .number()
      .int()
      .min(0)
      .max(5 * 1024 * MiB)
      .default(5 * MiB),
    maxManifestBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * MiB)
      .default(MiB),
    /** Long-polls plus event streams open at once; beyond: 503. */
    maxWatchers: z.number().int().min(1).max(1_000_000).default(1000),
    /** Long-poll wait when the request names no timeout_ms, ms. */
    watchTimeoutMs: z.number().int().min(0).max(3_600_000).default(30_000),
    /** Largest timeout_ms a long-poll may ask for, ms. */
    maxWatchTimeoutMs: z.number().int().min(0).max(3_600_000).default(300_000),
    /** Comment line sent on idle event streams, ms. */
    sseHeartbeatMs: z.number().int().min(100).max(3_600_000).default(15_000),
    /** Watchers also re-read the backend this often (ms; 0 = never): only for writers in other processes on a shared backend. */
    watchRecheckMs: z.number().int().min(0).max(3_600_000).default(0),
    defaultExpiresIn: z.number().int().min(1).max(MAX_EXPIRES_IN_S).default(900),
    maxExpiresIn: z.number().int().min(1).max(MAX_EXPIRES_IN_S).default(MAX_EXPIRES_IN_S),
    /** An upload not completed within this is removed with its parts, ms. */
    uploadTtlMs: z
      .number()
      .int()
      .min(1000)
      .max(30 * 86_400_000)
      .default(86_400_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.minPartBytes > c.maxPartBytes) {
      ctx.addIssue({ code: 'custom', path: ['minPartBytes'], message: 'at most maxPartBytes' });
    }
    if (c.defaultExpiresIn > c.maxExpiresIn) {
      ctx.addIssue({ code: 'custom', path: ['defaultExpiresIn'], message: 'at most maxExpiresIn' });
    }
    if (c.watchTimeoutMs > c.maxWatchTimeoutMs) {
      ctx.addIssue({ code: 'custom', path: ['watchTimeoutMs'], message: 'at most maxWatchTimeoutMs' });
    }
    if (c.backend === 's3' && !c.s3.bucket) {
      ctx.addIssue({ code: 'custom', path: ['s3', 'bucket'], message: 'required when backend is s3' });
    }
  });

export type StorageConfig = Readonly<z.output<typeof StorageConfigSchema>>;
export type StorageConfigInput = z.input<typeof StorageConfigSchema>;

/**
 * What a harness user may pass to `startSystem('storage', { options })`. The harness chooses host
 * and port itself; everything else is a StorageConfig field. No defaults here: an absent field
 * keeps the config default, and an absent `root` means a root inside the start's temp dir.
 */
export const StorageOptionsSchema = z
  .object({
    /** A data root kept across starts (restart on the same data); never removed by the harness. */
    root: z.string().min(1).optional(),
    backend: z.enum(BACKEND_CHOICES).optional(),
    s3: z
      .object({
        endpoint: z.url({ protocol: /^https?$/ }).optional(),
        region: z.string().min(1).optional(),
        bucket: z.string().min(3).max(63).optional(),
        accessKeyId: z.string().min(1).optional(),
        secretAccessKey: z.string().min(1).optional(),
        forcePathStyle: z.boolean().optional(),
        prefix: z
          .string()
          .regex(/^([A-Za-z0-9._-]+\/)*$/)
          .optional(),
        createBucket: z.boolean().optional(),
      })
      .strict()
      .optional(),
    signingSecret: z.string().min(16).optional(),
    maxPartBytes: z.number().int().min(1).optional(),
    minPartBytes: z.number().int().min(0).optional(),
    maxManifestBytes: z.number().int().min(1024).optional(),
    maxWatchers: z.number().int().min(1).optional(),
    watchTimeoutMs: z.number().int().min(0).optional(),
    maxWatchTimeoutMs: z.number().int().min(0).optional(),
    sseHeartbeatMs: z.number().int().min(100).optional(),
    watchRecheckMs: z.number().int().min(0).optional(),
    defaultExpiresIn: z.number().int().min(1).optional(),
    maxExpiresIn: z.number().int().min(1).optional(),
    uploadTtlMs: z.number().int().min(1000).optional(),
  })
  .strict();
export type StorageOptions = z.input<typeof StorageOptionsSchema>;

/** Environment variable -> config path. */
export const ENV_OVERRIDES = {
  STORAGE_HOST: ['host'],
  STORAGE_PORT: ['port'],
  STORAGE_ROOT: ['root'],
  STORAGE_BACKEND: ['backend'],
  STORAGE_S3_ENDPOINT: ['s3', 'endpoint'],
  STORAGE_S3_REGION: ['s3', 'region'],
  STORAGE_S3_BUCKET: ['s3', 'bucket'],
  STORAGE_S3_ACCESS_KEY_ID: ['s3', 'accessKeyId'],
  STORAGE_S3_SECRET_ACCESS_KEY: ['s3', 'secretAccessKey'],
  STORAGE_S3_FORCE_PATH_STYLE: ['s3', 'forcePathStyle'],
  STORAGE_S3_PREFIX: ['s3', 'prefix'],
  STORAGE_S3_CREATE_BUCKET: ['s3', 'createBucket'],
  STORAGE_SIGNING_SECRET: ['signingSecret'],
  STORAGE_PUBLIC_URL: ['publicUrl'],
  STORAGE_MAX_PART_BYTES: ['maxPartBytes'],
  STORAGE_MIN_PART_BYTES: ['minPartBytes'],
  STORAGE_MAX_MANIFEST_BYTES: ['maxManifestBytes'],
  STORAGE_MAX_WATCHERS: ['maxWatchers'],
  STORAGE_WATCH_TIMEOUT_MS: ['watchTimeoutMs'],
  STORAGE_MAX_WATCH_TIMEOUT_MS: ['maxWatchTimeoutMs'],
  STORAGE_SSE_HEARTBEAT_MS: ['sseHeartbeatMs'],
  STORAGE_WATCH_RECHECK_MS: ['watchRecheckMs'],
  STORAGE_DEFAULT_EXPIRES_IN: ['defaultExpiresIn'],
  STORAGE_MAX_EXPIRES_IN: ['maxExpiresIn'],
  STORAGE_UPLOAD_TTL_MS: ['uploadTtlMs'],
} as const;

const BOOLEAN_ENV = new Set(['STORAGE_S3_FORCE_PATH_STYLE', 'STORAGE_S3_CREATE_BUCKET']);
const STRING_ENV = new Set([
  'STORAGE_HOST',
  'STORAGE_ROOT',
  'STORAGE_BACKEND',
  'STORAGE_S3_ENDPOINT',
  'STORAGE_S3_REGION',
  'STORAGE_S3_BUCKET',
  'STORAGE_S3_ACCESS_KEY_ID',
  'STORAGE_S3_SECRET_ACCESS_KEY',
  'STORAGE_S3_PREFIX',
  'STORAGE_SIGNING_SECRET',
  'STORAGE_PUBLIC_URL',
]);

function envValue(name: string, raw: string): unknown {
  if (BOOLEAN_ENV.has(name)) {
    if (/^(1|true|yes)$/i.test(raw)) return true;
    if (/^(0|false|no)$/i.test(raw)) return false;
    return raw;
  }
  if (STRING_ENV.has(name)) return raw;
  return /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
}

/** Reads the overrides present in `env`, keyed by dotted config path, with the variable that gave each. */
export function envOverrides(env: NodeJS.ProcessEnv): {
  values: Map<string, unknown>;
  sources: Map<string, string>;
} {
  const values = new Map<string, unknown>();
  const sources = new Map<string, string>();
  for (const [name, fieldPath] of Object.entries(ENV_OVERRIDES)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const dotted = fieldPath.join('.');
    values.set(dotted, envValue(name, raw));
    sources.set(dotted, name);
  }
  return { values, sources };
}

function merge(input: StorageConfigInput, values: Map<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...input };
  const s3: Record<string, unknown> = { ...(input.s3 ?? {}) };
  let touchedS3 = input.s3 !== undefined;
  for (const [dotted, value] of values) {
    if (dotted.startsWith('s3.')) {
      s3[dotted.slice(3)] = value;
      touchedS3 = true;
    } else {
      merged[dotted] = value;
    }
  }
  if (touchedS3) merged.s3 = s3;
  return merged;
}

function valueAt(input: Record<string, unknown>, fieldPath: PropertyKey[]): unknown {
  let v: unknown = input;
  for (const p of fieldPath) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function describeIssue(
  issue: z.core.$ZodIssue,
  sources: Map<string, string>,
  input: Record<string, unknown>,
): string {
  const where = ['storage', ...issue.path.map(String)].join('.');
  if (issue.code === 'unrecognized_keys') {
    const allowed =
      issue.path[0] === 's3' ? Object.keys(S3ConfigSchema.shape) : Object.keys(StorageConfigSchema.shape);
    return `${where} has unknown field(s) ${issue.keys.join(', ')}; allowed: ${allowed.join(', ')}`;
  }
  const dotted = issue.path.map(String).join('.');
  const from = sources.get(dotted);
  const value = valueAt(input, issue.path);
  const got = value !== undefined ? ` (got ${JSON.stringify(value)}${from ? ` from ${from}` : ''})` : '';
  return `${where}: ${issue.message}${got}`;
}

/**
 * Resolves the config: defaults < `input` < environment overrides. Throws one StorageError
 * (STORAGE_CONFIG_INVALID) whose one-line message names each bad field, what it allows and the
 * env var that gave the bad value.
 */
export function loadConfig(
  input: StorageConfigInput = {},
  env: NodeJS.ProcessEnv = process.env,
): StorageConfig {
  const { values, sources } = envOverrides(env);
  const merged = merge(input, values);
  const parsed = StorageConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const line = parsed.error.issues.map((i) => describeIssue(i, sources, merged)).join('; ');
    throw new StorageError('STORAGE_CONFIG_INVALID', `invalid config: ${line}`);
  }
  return Object.freeze({ ...parsed.data, s3: Object.freeze(parsed.data.s3) });
}
