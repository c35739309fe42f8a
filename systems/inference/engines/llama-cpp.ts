// node-llama-cpp engine: one model, one context with `slots` sequences (concurrent requests are
// batched by the context into one decode per step), each request on its own sequence through the
// sequence API (the chat template rendered once, then sequence.evaluate() token by token).
import path from 'node:path';
import {
  type ChatHistoryItem,
  type ChatWrapper,
  getLlama,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaGrammar,
  LlamaGrammarEvaluationState,
  type LlamaModel,
  resolveChatWrapper,
  type Token,
} from 'node-llama-cpp';
import { InferenceError } from '../errors.ts';
import { StopMatcher } from './stop-matcher.ts';
import type {
  ChatMessage,
  Engine,
  FinishReason,
  GenerateParams,
  GenerateResult,
  ModelCard,
} from './types.ts';

/** What a detokenized partial UTF-8 sequence ends with. */
const REPLACEMENT = '\uFFFD';

/** True when `tokens` ends with one of `suffixes` (token-level stop triggers such as an end marker). */
function endsWithAny(tokens: readonly Token[], suffixes: readonly Token[][]): boolean {
  outer: for (const s of suffixes) {
    if (s.length === 0 || s.length > tokens.length) continue;
    for (let i = 1; i <= s.length; i++) if (tokens[tokens.length - i] !== s[s.length - i]) continue outer;
    return true;
  }
  return false;
}

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
  // The template continues the last item; a chat ending with a user turn needs an empty model turn.
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
  private chatWrapper: ChatWrapper | undefined;
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
        // node-llama-cpp batches the sequences' next tokens into one decode, dispatched on the
        // next event-loop turn so that every active sequence can join it. With one request in
        // flight there is nothing to wait for: dispatching in a microtask saves a loop turn per
        // token (+20-30% tokens/s at 1 client here, no change at 8; systems/inference/README.md).
        batching: {
          dispatchSchedule: (dispatch: () => void) => {
            if (this.opts.slots - this.free.length <= 1) queueMicrotask(dispatch);
            else setImmediate(dispatch);
          },
        },
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

  /** Prompt tokens and the stop triggers the model's chat template implies (chat) or none (completion). */
  private prompt(p: GenerateParams): { tokens: Token[]; stopTexts: string[]; stopTokens: Token[][] } {
    const model = this.model as LlamaModel;
    if (!p.messages) {
      // A completion prompt is plain text after the model's BOS, as LlamaCompletion sends it.
      const tokens = model.tokenize(p.prompt ?? '', false);
      const bos = model.tokens.bos;
      if (bos !== null && model.tokens.shouldPrependBosToken && tokens[0] !== bos) tokens.unshift(bos);
      return { tokens, stopTexts: [], stopTokens: [] };
    }
    this.chatWrapper ??= resolveChatWrapper(model);
    const wrapper = this.chatWrapper;
    const state = wrapper.generateContextState({ chatHistory: toHistory(p.messages) });
    const stopTexts: string[] = [];
    const stopTokens: Token[][] = [];
    for (const trigger of state.stopGenerationTriggers) {
      // Plain-text triggers are matched on text (they may span tokens); special ones on tokens.
      if (trigger.values.every((v) => typeof v === 'string')) stopTexts.push(trigger.toString());
      else stopTokens.push(trigger.tokenize(model.tokenizer));
    }
    return { tokens: state.contextText.tokenize(model.tokenizer), stopTexts, stopTokens };
  }

  /**
   * One request on one sequence of the shared context, through node-llama-cpp's sequence API:
   * `sequence.evaluate()` yields each sampled token (the context batches all sequences' next
   * tokens into one decode); this loop detokenizes, matches stop sequences and streams. It skips
   * LlamaChat's per-token machinery (segments, function calls, regulators), which a server that
   * renders the template once and streams plain text does not need (what that was worth, and what
   * bounds the engine instead: systems/inference/README.md, "Against llama.cpp's own server").
   */
  async generate(p: GenerateParams): Promise<GenerateResult> {
    const sequence = this.free.pop();
    const model = this.model;
    if (!sequence || !model) {
      throw new InferenceError(
        'INFERENCE_ENGINE_FAILED',
        'no free llama_cpp sequence (admission control should prevent this)',
      );
    }
    try {
      let grammar: LlamaGrammarEvaluationState | undefined;
      if (p.jsonSchema) {
        try {
          grammar = new LlamaGrammarEvaluationState({ model, grammar: await this.grammarFor(p.jsonSchema) });
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
      const { tokens: input, stopTexts, stopTokens } = this.prompt(p);
      if (input.length >= this.opts.contextSize) {
        throw new InferenceError(
          'INFERENCE_CONTEXT_LENGTH_EXCEEDED',
          `the prompt is ${input.length} tokens; this model's context holds ${this.opts.contextSize} per request`,
          { param: 'messages' },
        );
      }
      const generated: Token[] = [];
      const matcher = new StopMatcher([...stopTexts, ...p.stop], p.onText);
      // OpenAI's penalties are additive only: no multiplicative repeat penalty (penalty 1).
      const penalties =
        p.presencePenalty || p.frequencyPenalty
          ? {
              punishTokens: () => generated,
              penalty: 1,
              presencePenalty: p.presencePenalty ?? 0,
              frequencyPenalty: p.frequencyPenalty ?? 0,
            }
          : undefined;
      // Room left in this sequence's context: generation stops there with finish_reason length.
      const budget = Math.min(p.maxTokens, this.opts.contextSize - 1 - input.length);
      let finish: FinishReason = 'length';
      let partial: Token[] = [];
      if (budget > 0 && !p.signal.aborted) {
        const tokens = sequence.evaluate(input, {
          temperature: p.temperature ?? 1,
          ...(p.topP !== undefined ? { topP: p.topP } : {}),
          ...(p.seed !== undefined ? { seed: p.seed } : {}),
          ...(penalties ? { repeatPenalty: penalties } : {}),
          ...(grammar ? { grammarEvaluationState: grammar } : {}),
        });
        for await (const token of tokens) {
          generated.push(token);
          if (stopTokens.length > 0 && endsWithAny(generated, stopTokens)) {
            finish = 'stop';
            break;
          }
          // A token can end inside a UTF-8 sequence: hold it until the character completes.
          partial.push(token);
          const text = model.detokenize(
            partial,
            false,
            generated.slice(-partial.length - 4, -partial.length),
          );
          if (!(text.endsWith(REPLACEMENT) && partial.length < 4)) {
            partial = [];
            if (matcher.push(text)) {
              finish = 'stop';
              break;
            }
          }
          if (generated.length >= budget || p.signal.aborted) break;
        }
        // The generator ends by itself only on an end-of-generation token.
        if (generated.length < budget && !p.signal.aborted) finish = 'stop';
      }
      const text = matcher.end();
      return {
        text,
        finishReason: finish,
        promptTokens: input.length,
        completionTokens: generated.length,
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
