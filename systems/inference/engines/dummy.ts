// A deterministic engine for testing the server itself: the words depend only on the input
// text and the seed, one word per token; honours max tokens, stop, abort.
import { setTimeout as sleep } from 'node:timers/promises';
import { StopMatcher } from './stop-matcher.ts';
import type { Engine, GenerateParams, GenerateResult, ModelCard } from './types.ts';

const WORDS = [
  'the',
  'quick',
  'model',
  'says',
  'hello',
  'to',
  'a',
  'test',
  'rig',
  'with',
  'tokens',
  'that',
  'stream',
  'one',
  'by',
  'one',
  'and',
  'then',
  'stop',
  'cleanly',
  'sky',
  'is',
  'blue',
  'today',
];

/** FNV-1a over the input, mixed with the seed. */
function hash(text: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function inputText(p: Pick<GenerateParams, 'messages' | 'prompt'>): string {
  return p.prompt ?? (p.messages ?? []).map((m) => `${m.role}: ${m.content}`).join('\n');
}

export function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

export class DummyEngine implements Engine {
  readonly name = 'dummy' as const;
  readonly label = 'dummy';
  readonly capabilities = { jsonSchema: false };
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(
    private readonly modelId: string,
    private readonly tokenDelayMs = 0,
  ) {}

  async load(): Promise<void> {}

  models(): ModelCard[] {
    return [{ id: this.modelId, object: 'model', created: this.created, owned_by: 'rig' }];
  }

  async generate(p: GenerateParams): Promise<GenerateResult> {
    const input = inputText(p);
    let state = hash(input, p.seed ?? 0);
    const next = () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state;
    };
    // The "natural" length (an end-of-sequence token) is 12-43 tokens, so both finish reasons occur.
    const natural = 12 + (next() % 32);
    const matcher = new StopMatcher(p.stop, p.onText);
    let completionTokens = 0;
    let finishReason: GenerateResult['finishReason'] = 'stop';
    while (!p.signal.aborted) {
      if (completionTokens >= p.maxTokens) {
        finishReason = 'length';
        break;
      }
      if (completionTokens >= natural) break;
      const word = WORDS[next() % WORDS.length] ?? 'the';
      completionTokens++;
      if (matcher.push(completionTokens === 1 ? word : ` ${word}`)) break;
      if (this.tokenDelayMs > 0) await sleep(this.tokenDelayMs);
      else if (completionTokens % 16 === 0) await new Promise<void>((r) => setImmediate(r));
    }
    const text = matcher.end();
    return { text, finishReason, promptTokens: countWords(input), completionTokens };
  }

  status(): Record<string, unknown> {
    return { tokenDelayMs: this.tokenDelayMs };
  }

  async close(): Promise<void> {}
}
