// Request bodies of the OpenAI API, validated with zod. Unknown fields are accepted and ignored
// (as the official API does for fields it does not use); known fields are checked strictly.
import { z } from 'zod';
import { InferenceError } from './errors.ts';

const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const Content = z.union([z.string(), z.array(TextPart)]).nullable();

const Message = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: Content.optional(),
  name: z.string().optional(),
});

const Stop = z
  .union([z.string(), z.array(z.string()).max(4)])
  .nullable()
  .optional();

const ResponseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: z.string(),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);

const Sampling = {
  model: z.string().min(1),
  max_tokens: z.number().int().min(1).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  stop: Stop,
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  n: z.number().int().min(1).max(128).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
};

export const ChatCompletionRequest = z.object({
  ...Sampling,
  messages: z.array(Message).min(1),
  max_completion_tokens: z.number().int().min(1).nullable().optional(),
  response_format: ResponseFormat.optional(),
});

export const CompletionRequest = z.object({
  ...Sampling,
  prompt: z.union([z.string(), z.array(z.string()).length(1)]),
  echo: z.boolean().nullable().optional(),
});

export type ChatCompletionBody = z.output<typeof ChatCompletionRequest>;
export type CompletionBody = z.output<typeof CompletionRequest>;

/** Parses a body or throws INFERENCE_BAD_REQUEST naming the first bad field as `param`. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InferenceError('INFERENCE_BAD_REQUEST', 'the request body must be a JSON object');
  }
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const param = issue?.path.map(String).join('.') ?? null;
  const detail = issue?.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue?.message;
  throw new InferenceError('INFERENCE_BAD_REQUEST', `${param || 'body'}: ${detail ?? 'invalid'}`, {
    param: param || null,
  });
}

export function messageText(content: z.output<typeof Content> | undefined): string {
  if (content == null) return '';
  return typeof content === 'string' ? content : content.map((p) => p.text).join('');
}
