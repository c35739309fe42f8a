// POST /v1/chat/completions and POST /v1/completions.
import type { FastifyInstance } from 'fastify';
import { InferenceError } from '../errors.ts';
import type { GatewayState } from '../gateway.ts';
import { handleGeneration } from '../generation.ts';
import { ChatCompletionRequest, CompletionRequest, messageText, parseBody } from '../schemas.ts';

function stops(stop: string | string[] | null | undefined): string[] {
  if (stop == null) return [];
  return (Array.isArray(stop) ? stop : [stop]).filter((s) => s.length > 0);
}

function common(b: {
  n?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  seed?: number | null;
}) {
  if ((b.n ?? 1) > 1) {
    throw new InferenceError(
      'INFERENCE_UNSUPPORTED_PARAMETER',
      'n > 1 is not supported by this gateway; send n requests',
      {
        param: 'n',
      },
    );
  }
  return {
    ...(b.temperature != null ? { temperature: b.temperature } : {}),
    ...(b.top_p != null ? { topP: b.top_p } : {}),
    ...(b.seed != null ? { seed: b.seed } : {}),
  };
}

export function registerOpenAIRoutes(app: FastifyInstance, gw: GatewayState): void {
  app.post('/v1/chat/completions', async (req, reply) => {
    const b = parseBody(ChatCompletionRequest, req.body);
    let jsonSchema: Record<string, unknown> | 'object' | undefined;
    if (b.response_format?.type === 'json_object') jsonSchema = 'object';
    else if (b.response_format?.type === 'json_schema')
      jsonSchema = b.response_format.json_schema.schema ?? 'object';
    if (jsonSchema && !gw.engine.capabilities.jsonSchema) {
      throw new InferenceError(
        'INFERENCE_UNSUPPORTED_PARAMETER',
        `response_format ${b.response_format?.type} is not supported by the ${gw.engine.label} engine`,
        { param: 'response_format' },
      );
    }
    return handleGeneration(gw, req, reply, {
      kind: 'chat',
      route: '/v1/chat/completions',
      model: b.model,
      stream: b.stream === true,
      includeUsage: b.stream === true && b.stream_options?.include_usage === true,
      params: {
        messages: b.messages.map((m) => ({ role: m.role, content: messageText(m.content) })),
        maxTokens: b.max_completion_tokens ?? b.max_tokens ?? gw.config.defaultMaxTokens,
        stop: stops(b.stop),
        ...common(b),
        ...(b.presence_penalty != null ? { presencePenalty: b.presence_penalty } : {}),
        ...(b.frequency_penalty != null ? { frequencyPenalty: b.frequency_penalty } : {}),
        ...(jsonSchema ? { jsonSchema } : {}),
      },
    });
  });

  app.post('/v1/completions', async (req, reply) => {
    const b = parseBody(CompletionRequest, req.body);
    if (b.echo) {
      throw new InferenceError('INFERENCE_UNSUPPORTED_PARAMETER', 'echo is not supported by this gateway', {
        param: 'echo',
      });
    }
    return handleGeneration(gw, req, reply, {
      kind: 'completion',
      route: '/v1/completions',
      model: b.model,
      stream: b.stream === true,
      includeUsage: b.stream === true && b.stream_options?.include_usage === true,
      params: {
        prompt: Array.isArray(b.prompt) ? (b.prompt[0] ?? '') : b.prompt,
        // The legacy completions API defaults max_tokens to 16.
        maxTokens: b.max_tokens ?? 16,
        stop: stops(b.stop),
        ...common(b),
        ...(b.presence_penalty != null ? { presencePenalty: b.presence_penalty } : {}),
        ...(b.frequency_penalty != null ? { frequencyPenalty: b.frequency_penalty } : {}),
      },
    });
  });
}
