// Forwards generation to an upstream OpenAI-compatible server (vLLM's `vllm serve`, `mlx_lm.server`,
// llama.cpp's server, another rig gateway) and streams its text back through the gateway.
import { InferenceError } from '../errors.ts';
import { readSseData } from './sse.ts';
import type { Engine, GenerateParams, GenerateResult, ModelCard } from './types.ts';

export interface OpenAIProxyOptions {
  upstreamUrl: string;
  apiKey?: string;
  /** What the upstream is (`vllm`, `mlx`, or `openai-proxy`). */
  label: string;
  timeoutMs: number;
}

interface UpstreamChunk {
  choices?: Array<{ delta?: { content?: string | null }; text?: string; finish_reason?: string | null }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string };
}

export class OpenAIProxyEngine implements Engine {
  readonly name = 'openai-proxy' as const;
  readonly capabilities = { jsonSchema: true };
  readonly label: string;
  private cards: ModelCard[] = [];
  private readonly base: string;

  constructor(private readonly opts: OpenAIProxyOptions) {
    this.label = opts.label;
    this.base = opts.upstreamUrl.replace(/\/+$/, '');
  }

  private headers(): Record<string, string> {
    return {
      'content-type': 'application/json',
      ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}),
    };
  }

  private async upstreamError(res: Response): Promise<InferenceError> {
    const text = await res.text().catch(() => '');
    let message = text.slice(0, 500);
    try {
      message = (JSON.parse(text) as UpstreamChunk).error?.message ?? message;
    } catch {}
    return new InferenceError(
      'INFERENCE_UPSTREAM_FAILED',
      `upstream ${this.base} answered ${res.status}: ${message}`,
      {
        status: res.status >= 400 && res.status < 500 ? res.status : 502,
      },
    );
  }

  async load(): Promise<void> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/models`, {
        headers: this.headers(),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (cause) {
      throw new InferenceError(
        'INFERENCE_UPSTREAM_FAILED',
        `upstream ${this.base} is unreachable: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    if (!res.ok) throw await this.upstreamError(res);
    const body = (await res.json()) as { data?: Array<Partial<ModelCard> & { id: string }> };
    this.cards = (body.data ?? []).map((m) => ({
      id: m.id,
      object: 'model',
      created: m.created ?? Math.floor(Date.now() / 1000),
      owned_by: m.owned_by ?? this.label,
    }));
  }

  models(): ModelCard[] {
    return this.cards;
  }

  async generate(p: GenerateParams): Promise<GenerateResult> {
    const chat = p.messages !== undefined;
    const body: Record<string, unknown> = {
      model: p.model,
      ...(chat ? { messages: p.messages } : { prompt: p.prompt }),
      max_tokens: p.maxTokens,
      stream: true,
      stream_options: { include_usage: true },
      ...(p.temperature !== undefined ? { temperature: p.temperature } : {}),
      ...(p.topP !== undefined ? { top_p: p.topP } : {}),
      ...(p.seed !== undefined ? { seed: p.seed } : {}),
      ...(p.stop.length > 0 ? { stop: p.stop } : {}),
      ...(p.presencePenalty !== undefined ? { presence_penalty: p.presencePenalty } : {}),
      ...(p.frequencyPenalty !== undefined ? { frequency_penalty: p.frequencyPenalty } : {}),
      ...(p.jsonSchema === 'object'
        ? { response_format: { type: 'json_object' } }
        : p.jsonSchema
          ? {
              response_format: {
                type: 'json_schema',
                json_schema: { name: 'response', schema: p.jsonSchema },
              },
            }
          : {}),
    };
    let res: Response;
    try {
      res = await fetch(`${this.base}/${chat ? 'chat/completions' : 'completions'}`, {
        method: 'POST',
        headers: this.headers(),
        body: JSON.stringify(body),
        signal: p.signal,
      });
    } catch (cause) {
      if (p.signal.aborted) return { text: '', finishReason: 'stop', promptTokens: 0, completionTokens: 0 };
      throw new InferenceError(
        'INFERENCE_UPSTREAM_FAILED',
        `upstream ${this.base} failed: ${(cause as Error).message}`,
        { cause },
      );
    }
    if (!res.ok || !res.body) throw await this.upstreamError(res);
    let text = '';
    let pieces = 0;
    let finishReason: GenerateResult['finishReason'] = 'stop';
    let usage: UpstreamChunk['usage'];
    try {
      for await (const data of readSseData(res.body)) {
        if (data === '[DONE]') break;
        const chunk = JSON.parse(data) as UpstreamChunk;
        if (chunk.error)
          throw new InferenceError(
            'INFERENCE_UPSTREAM_FAILED',
            `upstream error: ${chunk.error.message ?? data}`,
          );
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices?.[0];
        const piece = chat ? choice?.delta?.content : choice?.text;
        if (piece) {
          text += piece;
          pieces++;
          p.onText(piece);
        }
        if (choice?.finish_reason) finishReason = choice.finish_reason === 'length' ? 'length' : 'stop';
      }
    } catch (cause) {
      if (!p.signal.aborted) {
        if (cause instanceof InferenceError) throw cause;
        throw new InferenceError(
          'INFERENCE_UPSTREAM_FAILED',
          `upstream stream broke: ${(cause as Error).message}`,
          { cause },
        );
      }
    }
    return {
      text,
      finishReason,
      promptTokens: usage?.prompt_tokens ?? 0,
      completionTokens: usage?.completion_tokens ?? pieces,
    };
  }

  status(): Record<string, unknown> {
    return { upstreamUrl: this.base, upstreamModels: this.cards.map((m) => m.id) };
  }

  async close(): Promise<void> {}
}
