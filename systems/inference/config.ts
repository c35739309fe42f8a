// InferenceConfig: defaults in one object, environment overrides, validated once with zod, frozen.
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { InferenceError } from './errors.ts';

export const ENGINE_CHOICES = ['auto', 'dummy', 'llama_cpp', 'openai-proxy', 'vllm', 'mlx'] as const;
export const GPU_CHOICES = ['auto', 'cpu', 'cuda', 'vulkan', 'metal'] as const;

/** Threads for llama.cpp: one per two cores (llama.cpp's default of 4 oversubscribes a 2-core box badly). */
export function defaultThreads(cpus: number = os.availableParallelism()): number {
  return Math.max(1, Math.floor(cpus / 2));
}

export const InferenceConfigSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8000),
    engine: z.enum(ENGINE_CHOICES).default('auto'),
    /** GGUF file for llama_cpp. */
    modelPath: z.string().min(1).optional(),
    /** The id clients send as `model`; default: the model file name without `.gguf` (or `dummy`). */
    modelId: z.string().min(1).optional(),
    /** Requests generating at once (llama_cpp: sequences of the one context). */
    slots: z.number().int().min(1).max(256).default(4),
    /** Requests allowed to wait for a slot; beyond that: 429. */
    queueLimit: z.number().int().min(0).max(100_000).default(64),
    queueTimeoutMs: z.number().int().min(1).max(3_600_000).default(30_000),
    requestTimeoutMs: z.number().int().min(1).max(3_600_000).default(120_000),
    /** Largest request body in bytes; beyond: 413. */
    bodyLimit: z
      .number()
      .int()
      .min(1024)
      .max(1 << 30)
      .default(1 << 20),
    /** max_tokens when the request names none. */
    defaultMaxTokens: z
      .number()
      .int()
      .min(1)
      .max(1 << 20)
      .default(256),
    threads: z.number().int().min(1).max(1024).default(defaultThreads()),
    /** Tokens per sequence of the llama_cpp context. */
    contextSize: z
      .number()
      .int()
      .min(64)
      .max(1 << 20)
      .default(512),
    gpu: z.enum(GPU_CHOICES).default('cpu'),
    /** openai-proxy (and vllm/mlx): the upstream base URL, e.g. http://127.0.0.1:8001/v1. */
    upstreamUrl: z.url({ protocol: /^https?$/ }).optional(),
    upstreamApiKey: z.string().optional(),
    /** Dummy engine: delay between tokens, to make streaming observable. */
    dummyTokenDelayMs: z.number().min(0).max(10_000).default(0),
  })
  .strict();

export type InferenceConfig = Readonly<z.output<typeof InferenceConfigSchema>>;
export type InferenceConfigInput = z.input<typeof InferenceConfigSchema>;

type Shape = typeof InferenceConfigSchema.shape;
type StartField<T extends z.ZodType> = z.ZodOptional<
  T extends z.ZodDefault<infer Inner extends z.ZodType> ? Inner : T
>;

/**
 * Start options (`startSystem(inferenceSystem, { options })`): every InferenceConfig field but
 * host and port (the start's own), optional and without its default, so that what a suite does
 * not set keeps coming from the environment, then the config's defaults. Strict: a misspelt
 * field fails (`systems.inference.options.engin: unrecognized key`).
 */
export const InferenceStartOptionsSchema = z
  .object(
    Object.fromEntries(
      Object.entries(InferenceConfigSchema.shape)
        .filter(([key]) => key !== 'host' && key !== 'port')
        .map(([key, field]) => [key, (field instanceof z.ZodDefault ? field.unwrap() : field).optional()]),
    ) as { [K in Exclude<keyof Shape, 'host' | 'port'>]: StartField<Shape[K]> },
  )
  .strict();

/** Environment variable -> config field. */
export const ENV_OVERRIDES = {
  HOST: 'host',
  PORT: 'port',
  INFERENCE_ENGINE: 'engine',
  MODEL_PATH: 'modelPath',
  MODEL_ID: 'modelId',
  INFERENCE_SLOTS: 'slots',
  INFERENCE_QUEUE_LIMIT: 'queueLimit',
  INFERENCE_QUEUE_TIMEOUT_MS: 'queueTimeoutMs',
  INFERENCE_REQUEST_TIMEOUT_MS: 'requestTimeoutMs',
  INFERENCE_BODY_LIMIT: 'bodyLimit',
  INFERENCE_MAX_TOKENS: 'defaultMaxTokens',
  INFERENCE_THREADS: 'threads',
  INFERENCE_CONTEXT_SIZE: 'contextSize',
  INFERENCE_GPU: 'gpu',
  UPSTREAM_URL: 'upstreamUrl',
  UPSTREAM_API_KEY: 'upstreamApiKey',
  INFERENCE_DUMMY_TOKEN_DELAY_MS: 'dummyTokenDelayMs',
} as const satisfies Record<string, keyof InferenceConfigInput>;

const NUMERIC_FIELDS = new Set<string>([
  'port',
  'slots',
  'queueLimit',
  'queueTimeoutMs',
  'requestTimeoutMs',
  'bodyLimit',
  'defaultMaxTokens',
  'threads',
  'contextSize',
  'dummyTokenDelayMs',
]);

/** Reads the overrides present in `env`; numeric fields are converted when they look like numbers. */
export function envOverrides(env: NodeJS.ProcessEnv): {
  values: Record<string, unknown>;
  sources: Map<string, string>;
} {
  const values: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  for (const [name, field] of Object.entries(ENV_OVERRIDES)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    values[field] = NUMERIC_FIELDS.has(field) && /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
    sources.set(field, name);
  }
  return { values, sources };
}

/** What each field accepts, for the one-line error. */
const ALLOWED: Record<keyof InferenceConfigInput, string> = {
  host: 'a non-empty host name or address',
  port: 'an integer 0-65535',
  engine: `one of ${ENGINE_CHOICES.join(', ')}`,
  modelPath: 'a path to a .gguf file',
  modelId: 'a non-empty string',
  slots: 'an integer 1-256',
  queueLimit: 'an integer 0-100000',
  queueTimeoutMs: 'an integer 1-3600000 (ms)',
  requestTimeoutMs: 'an integer 1-3600000 (ms)',
  bodyLimit: 'an integer 1024-1073741824 (bytes)',
  defaultMaxTokens: 'an integer 1-1048576',
  threads: 'an integer 1-1024',
  contextSize: 'an integer 64-1048576 (tokens)',
  gpu: `one of ${GPU_CHOICES.join(', ')}`,
  upstreamUrl: 'an absolute URL such as http://127.0.0.1:8001/v1',
  upstreamApiKey: 'a string',
  dummyTokenDelayMs: 'a number 0-10000 (ms)',
};

function describeIssue(
  issue: z.core.$ZodIssue,
  sources: Map<string, string>,
  input: Record<string, unknown>,
): string {
  if (issue.code === 'unrecognized_keys') {
    return `inference has unknown field(s) ${issue.keys.join(', ')}; allowed: ${Object.keys(ALLOWED).join(', ')}`;
  }
  const top = String(issue.path[0] ?? '');
  const from = sources.get(top);
  const got = top in input ? ` (got ${JSON.stringify(input[top])}${from ? ` from ${from}` : ''})` : '';
  const allowed = ALLOWED[top as keyof InferenceConfigInput] ?? issue.message;
  return `inference.${issue.path.join('.')} must be ${allowed}${got}`;
}

/**
 * Resolves the config: defaults < `input` < environment overrides. Throws one InferenceError
 * (INFERENCE_CONFIG_INVALID) whose one-line message names each bad field and its allowed values.
 */
export function loadConfig(
  input: InferenceConfigInput = {},
  env: NodeJS.ProcessEnv = process.env,
): InferenceConfig {
  const { values, sources } = envOverrides(env);
  const merged: Record<string, unknown> = { ...input, ...values };
  const parsed = InferenceConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const line = parsed.error.issues.map((i) => describeIssue(i, sources, merged)).join('; ');
    throw new InferenceError('INFERENCE_CONFIG_INVALID', `invalid config: ${line}`);
  }
  return Object.freeze(parsed.data);
}

/** The model id clients use. */
export function resolveModelId(config: InferenceConfig, engine: string): string {
  if (config.modelId) return config.modelId;
  if (config.modelPath) return path.basename(config.modelPath).replace(/\.gguf$/i, '');
  return engine === 'dummy' ? 'dummy' : engine;
}
