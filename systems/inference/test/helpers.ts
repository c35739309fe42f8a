// Test helpers: start a real gateway on a free port and stop it afterwards.

import type { InferenceConfigInput } from '../config.ts';
import { createGateway, type Gateway } from '../server.ts';

export interface Running {
  gw: Gateway;
  url: string;
  close(): Promise<void>;
}

export async function startGateway(
  input: InferenceConfigInput,
  env: NodeJS.ProcessEnv = {},
): Promise<Running> {
  const gw = await createGateway({ port: 0, ...input }, { env });
  const url = await gw.listen();
  await gw.ready;
  return { gw, url, close: () => gw.close() };
}

export async function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
}

/** Reads an SSE response into its `data:` payloads (strings, `[DONE]` included). */
export async function sseEvents(res: Response): Promise<string[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice('data: '.length));
}

/** A loose view of any OpenAI wire object, for assertions. */
export interface Wire {
  id: string;
  object: string;
  model: string;
  choices: Array<{
    index: number;
    message: { role: string; content: string };
    delta: { role?: string; content?: string };
    text: string;
    finish_reason: string | null;
    logprobs: null;
  }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
  error: { message: string; type: string; param: string | null; code: string };
  data: Array<{ id: string; object: string }>;
  status: string;
  engine: Record<string, unknown>;
  admission: Record<string, number>;
  memory: Record<string, number>;
  models: string[];
}
