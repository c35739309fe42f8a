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

export function newId(prefix: 'chatcmpl' | 'cmpl'): string {
  return `${prefix}-${randomBytes(12).toString('hex')}`;
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
