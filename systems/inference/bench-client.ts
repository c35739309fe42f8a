// A timing client for OpenAI-compatible streaming endpoints, with the `vllm bench serve`
// definitions: TTFT = first content chunk - send; ITL = gaps between later content chunks;
// TPOT = (E2E - TTFT) / (output tokens - 1); output tokens from the usage chunk when the
// server sends one, else the number of content chunks.
import { performance } from 'node:perf_hooks';
import { readSseData } from './engines/sse.ts';

export interface StreamTiming {
  ok: boolean;
  status: number;
  /** The error message for a failed request (HTTP error body, network error, error event). */
  error: string | undefined;
  ttftMs: number | undefined;
  itlMs: number[];
  e2eMs: number;
  tpotMs: number | undefined;
  outputTokens: number;
  promptTokens: number;
  text: string;
  /** Times the request was sent again after a stale keep-alive connection closed under it (at most 3). */
  retried: number;
}

export interface TimedStreamOptions {
  /** `chat/completions` (default) or `completions`. */
  path?: 'chat/completions' | 'completions';
  apiKey?: string;
  signal?: AbortSignal;
}

/**
 * True for a connection the server closed before answering: a keep-alive race (the server ends
 * an idle or used-up connection as the client reuses it; llama.cpp's server does this under
 * load). Nothing was processed, so sending again is safe, as the openai client also does.
 */
function staleConnection(e: unknown): boolean {
  const cause = (e as { cause?: { code?: string } }).cause;
  return cause?.code === 'UND_ERR_SOCKET' || cause?.code === 'ECONNRESET';
}

interface Chunk {
  choices?: Array<{ delta?: { content?: string | null }; text?: string }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string };
}

/** Sends one streaming request (stream + include_usage forced on) and times it. */
export async function timedStream(
  v1: string,
  body: Record<string, unknown>,
  opts: TimedStreamOptions = {},
): Promise<StreamTiming> {
  const path = opts.path ?? 'chat/completions';
  const t0 = performance.now();
  const result: StreamTiming = {
    ok: false,
    status: 0,
    error: undefined,
    ttftMs: undefined,
    itlMs: [],
    e2eMs: 0,
    tpotMs: undefined,
    outputTokens: 0,
    promptTokens: 0,
    text: '',
    retried: 0,
  };
  let chunks = 0;
  let last = 0;
  let usage: Chunk['usage'];
  try {
    const send = () =>
      fetch(`${v1.replace(/\/+$/, '')}/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.apiKey ?? 'none'}` },
        body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    let res: Response | undefined;
    // Another pooled connection may be stale too: a few attempts, each counted.
    while (!res) {
      try {
        res = await send();
      } catch (e) {
        if (!staleConnection(e) || result.retried >= 3) throw e;
        result.retried++;
      }
    }
    result.status = res.status;
    if (!res.ok || !res.body) {
      result.error = `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`;
      return result;
    }
    for await (const data of readSseData(res.body)) {
      if (data === '[DONE]') break;
      const chunk = JSON.parse(data) as Chunk;
      if (chunk.error) {
        result.error = chunk.error.message ?? 'error event';
        return result;
      }
      if (chunk.usage) usage = chunk.usage;
      const c = chunk.choices?.[0];
      const piece = c?.delta?.content ?? c?.text ?? '';
      if (!piece) continue;
      const now = performance.now();
      if (chunks === 0) result.ttftMs = now - t0;
      else result.itlMs.push(now - last);
      last = now;
      chunks++;
      result.text += piece;
    }
    result.ok = true;
  } catch (e) {
    result.error = (e as Error).message;
  } finally {
    result.e2eMs = performance.now() - t0;
    result.outputTokens = usage?.completion_tokens ?? chunks;
    result.promptTokens = usage?.prompt_tokens ?? 0;
    if (result.ttftMs !== undefined && result.outputTokens > 1) {
      result.tpotMs = (result.e2eMs - result.ttftMs) / (result.outputTokens - 1);
    }
  }
  return result;
}
