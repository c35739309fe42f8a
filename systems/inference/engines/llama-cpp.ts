// node-llama-cpp engine: one model, one context with `slots` sequences (concurrent requests are
// batched by the context), one LlamaChat or LlamaCompletion per request on its own sequence.
import path from 'node:path';
import {
  type ChatHistoryItem,
  getLlama,
  type Llama,
  LlamaChat,
  LlamaCompletion,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaGrammar,
  type LlamaModel,
} from 'node-llama-cpp';
import { InferenceError } from '../errors.ts';
import type { ChatMessage, Engine, GenerateParams, GenerateResult, ModelCard } from './types.ts';

export interface LlamaCppOptions {
  modelPath: string;
  modelId: string;
  slots: number;
  threads: number;
  contextSize: number;
  gpu: 'auto' | 'cpu' | 'cuda' | 'vulkan' | 'metal';
}

function toHistory(messages: ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  for (const m of messages) {
    if (m.role === 'system' || m.role === 'developer') history.push({ type: 'system', text: m.content });
    else if (m.role === 'assistant') history.push({ type: 'model', response: [m.content] });
    else history.push({ type: 'user', text: m.content });
  }
  // LlamaChat continues the last item; a chat ending with a user turn needs an empty model turn.
  if (history.at(-1)?.type !== 'model') history.push({ type: 'model', response: [] });
  return history;
}

export class LlamaCppEngine implements Engine {
  readonly name = 'llama_cpp' as const;
  readonly label = 'llama_cpp';
  readonly capabilities = { jsonSchema: true };
  private llama: Llama | undefined;
  private model: LlamaModel | undefined;
  private context: LlamaContext | undefined;
  private readonly free: LlamaContextSequence[] = [];
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  private created = Math.floor(Date.now() / 1000);

  constructor(private readonly opts: LlamaCppOptions) {}

  async load(): Promise<void> {
    try {
      this.llama = await getLlama({ gpu: this.opts.gpu === 'cpu' ? false : this.opts.gpu, build: 'never' });
      this.model = await this.llama.loadModel({ modelPath: this.opts.modelPath });
      this.context = await this.model.createContext({
        sequences: this.opts.slots,
        contextSize: this.opts.contextSize,
        threads: this.opts.threads,
      });
      for (let i = 0; i < this.opts.slots; i++) this.free.push(this.context.getSequence());
      this.created = Math.floor(Date.now() / 1000);
    } catch (cause) {
      throw new InferenceError(
        'INFERENCE_ENGINE_FAILED',
        `llama_cpp could not load ${this.opts.modelPath}: ${(cause as Error).message}`,
        { cause },
      );
    }
  }

  models(): ModelCard[] {
    return [{ id: this.opts.modelId, object: 'model', created: this.created, owned_by: 'llama_cpp' }];
  }

  private grammarFor(schema: Record<string, unknown> | 'object'): Promise<LlamaGrammar> {
    const key = schema === 'object' ? 'object' : JSON.stringify(schema);
    let g = this.grammars.get(key);
    if (!g) {
      const llama = this.llama as Llama;
      g =
        schema === 'object'
          ? llama.getGrammarFor('json')
          : // biome-ignore lint/suspicious/noExplicitAny: node-llama-cpp's schema type is a narrow subset of JSON schema
            llama.createGrammarForJsonSchema(schema as any);
      this.grammars.set(key, g);
      g.catch(() => this.grammars.delete(key));
    }
    return g;
  }

  async generate(p: GenerateParams): Promise<GenerateResult> {
    const sequence = this.free.pop();
    if (!sequence || !this.model) {
      throw new InferenceError(
        'INFERENCE_ENGINE_FAILED',
        'no free llama_cpp sequence (admission control should prevent this)',
      );
    }
    const before = sequence.tokenMeter.getState();
    try {
      let grammar: LlamaGrammar | undefined;
      if (p.jsonSchema) {
        try {
          grammar = await this.grammarFor(p.jsonSchema);
        } catch (cause) {
          throw new InferenceError(
            'INFERENCE_BAD_REQUEST',
            `response_format schema is not supported: ${(cause as Error).message}`,
            {
              param: 'response_format',
              cause,
            },
          );
        }
      }
      // OpenAI's penalties are additive only: no multiplicative repeat penalty (penalty 1).
      const repeatPenalty: false | { penalty: number; presencePenalty: number; frequencyPenalty: number } =
        p.presencePenalty || p.frequencyPenalty
          ? { penalty: 1, presencePenalty: p.presencePenalty ?? 0, frequencyPenalty: p.frequencyPenalty ?? 0 }
          : false;
      const common = {
        maxTokens: p.maxTokens,
        temperature: p.temperature ?? 1,
        ...(p.topP !== undefined ? { topP: p.topP } : {}),
        ...(p.seed !== undefined ? { seed: p.seed } : {}),
        repeatPenalty,
        ...(grammar ? { grammar } : {}),
        ...(p.stop.length > 0 ? { customStopTriggers: p.stop } : {}),
        signal: p.signal,
        stopOnAbortSignal: true,
        onTextChunk: (t: string) => p.onText(t),
      };
      let text: string;
      let stopReason: string;
      if (p.messages) {
        const chat = new LlamaChat({ contextSequence: sequence, autoDisposeSequence: false });
        try {
          const res = await chat.generateResponse(toHistory(p.messages), common);
          text = res.response;
          stopReason = res.metadata.stopReason;
        } finally {
          chat.dispose({ disposeSequence: false });
        }
      } else {
        const completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
        try {
          const res = await completion.generateCompletionWithMeta(p.prompt ?? '', common);
          text = res.response;
          stopReason = res.metadata.stopReason;
        } finally {
          completion.dispose({ disposeSequence: false });
        }
      }
      const used = sequence.tokenMeter.diff(before);
      return {
        text,
        finishReason: stopReason === 'maxTokens' ? 'length' : 'stop',
        promptTokens: used.usedInputTokens,
        completionTokens: used.usedOutputTokens,
      };
    } finally {
      await sequence.clearHistory().catch(() => undefined);
      this.free.push(sequence);
    }
  }

  status(): Record<string, unknown> {
    return {
      modelPath: this.opts.modelPath,
      modelFile: path.basename(this.opts.modelPath),
      gpu: this.llama?.gpu ?? null,
      threads: this.opts.threads,
      slots: this.opts.slots,
      sequencesFree: this.free.length,
      contextSize: this.context?.contextSize ?? null,
      modelSizeBytes: this.model?.size ?? null,
      trainContextSize: this.model?.trainContextSize ?? null,
    };
  }

  async close(): Promise<void> {
    await this.context?.dispose();
    await this.model?.dispose();
    await this.llama?.dispose();
    this.context = undefined;
    this.model = undefined;
    this.llama = undefined;
  }
}
