// Response objects exactly as the OpenAI API shapes them.
import { randomBytes } from 'node:crypto';
import type { FinishReason } from './engines/types.ts';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

const ID_BYTES = 12;
const ID_POOL_BYTES = ID_BYTES * 512;
let idPool = Buffer.alloc(0);
let idUsed = 0;

/**
 * `chatcmpl-` or `cmpl-` and 24 random hex digits. Ids must be unique, not secret, so they are cut
 * from a pool of random bytes refilled 6 KiB at a time: randomBytes(12) per request cost ~8 µs here
 * (an OpenSSL call each), more than building the rest of the reply.
 */
export function newId(prefix: 'chatcmpl' | 'cmpl'): string {
  if (idUsed + ID_BYTES > idPool.length) {
    idPool = randomBytes(ID_POOL_BYTES);
    idUsed = 0;
  }
  const hex = idPool.toString('hex', idUsed, idUsed + ID_BYTES);
  idUsed += ID_BYTES;
  return `${prefix}-${hex}`;
}

export const SYSTEM_FINGERPRINT = 'rig-inference';

export interface Envelope {
  id: string;
  created: number;
  model: string;
}

export function chatCompletion(e: Envelope, text: string, finish: FinishReason, usage: Usage) {
  return {
    id: e.id,
    object: 'chat.completion' as const,
    created: e.created,
    model: e.model,
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: [
      {
        index: 0,
        message: { role: 'assistant' as const, content: text, refusal: null },
        logprobs: null,
        finish_reason: finish,
      },
    ],
    usage,
  };
}

export function chatChunk(
  e: Envelope,
  delta: { role?: 'assistant'; content?: string },
  finish: FinishReason | null,
  withUsageField: boolean,
) {
  return {
    id: e.id,
    object: 'chat.completion.chunk' as const,
    created: e.created,
    model: e.model,
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(withUsageField ? { usage: null } : {}),
  };
}

export function chatUsageChunk(e: Envelope, usage: Usage) {
  return {
    id: e.id,
    object: 'chat.completion.chunk' as const,
    created: e.created,
    model: e.model,
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: [],
    usage,
  };
}

export function textCompletion(
  e: Envelope,
  text: string,
  finish: FinishReason | null,
  usage: Usage | null | undefined,
) {
  return {
    id: e.id,
    object: 'text_completion' as const,
    created: e.created,
    model: e.model,
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
    ...(usage !== undefined ? { usage } : {}),
  };
}

export function textUsageChunk(e: Envelope, usage: Usage) {
  return {
    id: e.id,
    object: 'text_completion' as const,
    created: e.created,
    model: e.model,
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: [],
    usage,
  };
}

/**
 * The SSE event of one content delta, built from a prefix and a suffix made once per request: per
 * token only the text is serialised, the byte-identical JSON of chatChunk / textCompletion with
 * that text (the streaming hot path runs once per generated token).
 */
export class ContentEvents {
  private readonly head: string;
  private readonly tail: string;

  constructor(kind: 'chat' | 'completion', e: Envelope, withUsageField: boolean) {
    const marker = '\u0000rig-content\u0000';
    const whole = JSON.stringify(
      kind === 'chat'
        ? chatChunk(e, { content: marker }, null, withUsageField)
        : textCompletion(e, marker, null, withUsageField ? null : undefined),
    );
    const [head, tail] = whole.split(JSON.stringify(marker));
    this.head = `data: ${head}`;
    this.tail = `${tail}\n\n`;
  }

  event(text: string): string {
    return this.head + JSON.stringify(text) + this.tail;
  }
}
